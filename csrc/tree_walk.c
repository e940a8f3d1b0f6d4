// A flat, pre-order list of a tree's visible nodes, in one pass over tree-sitter's own subtrees.
//
// tree-sitter's public TreeCursor rebuilds a child iterator (alias sequence, visibility of the
// parent, positions) on every step to a sibling, and every node property is another call. This
// pass keeps one iterator per open node on its own stack and writes each visible node once, with
// the properties the normalizer reads. It follows ts_tree_cursor_goto_first_child/_next_sibling,
// ts_tree_cursor_current_node and ts_tree_cursor_current_field_id of the tree-sitter version it
// is compiled against (the one in Cargo.lock), node for node; src/tree_walk.rs tests that it
// agrees with the cursor.

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tree_sitter/api.h"
#include "./language.h"
#include "./length.h"
#include "./subtree.h"
#include "./tree.h"

// One visible node. Keep in sync with `FlatNode` in src/tree_walk.rs.
typedef struct {
  // The node's identity: its subtree's address, as ts_node's `id` (what `Node::id` returns).
  const void *id;
  uint32_t start_byte;
  uint32_t end_byte;
  // Row of the first byte, 0-based (ts_node_start_point).
  uint32_t start_row;
  // Index of the first entry after this node's subtree.
  uint32_t next;
  // Visible children, as ts_node_child_count counts them.
  uint32_t child_count;
  // The public (aliased) symbol: ts_node_symbol.
  uint16_t kind;
  // Field of this node in its visible parent: ts_tree_cursor_current_field_id.
  uint16_t field;
  uint8_t named;
  uint8_t extra;
  uint8_t padding[6];
} PatmineFlatNode;

// The same layout is asserted on the Rust side: both sides fail to build if they disagree.
_Static_assert(sizeof(PatmineFlatNode) == 40, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, start_byte) == 8, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, end_byte) == 12, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, start_row) == 16, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, next) == 20, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, child_count) == 24, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, kind) == 28, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, field) == 30, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, named) == 32, "FlatNode layout");
_Static_assert(offsetof(PatmineFlatNode, extra) == 33, "FlatNode layout");

typedef struct {
  Subtree parent;
  const TSSymbol *alias_sequence;
  Length position;
  uint32_t child_index;
  uint32_t structural_child_index;
  uint32_t production_id;
  // Field a child without a field of its own takes: that of a hidden parent, 0 for a visible one.
  uint16_t inherited_field;
  // Entry of the parent when it is visible, UINT32_MAX when hidden.
  uint32_t entry;
} Frame;

static inline TSSymbol public_symbol(const TSLanguage *language, TSSymbol symbol) {
  if (symbol == ts_builtin_sym_error) return symbol;
  return language->public_symbol_map[symbol];
}

static inline bool symbol_is_named(const TSLanguage *language, TSSymbol symbol) {
  if (symbol == ts_builtin_sym_error) return true;
  if (symbol == ts_builtin_sym_error_repeat) return false;
  return language->symbol_metadata[symbol].named;
}

static inline uint16_t own_field(const TSLanguage *language, uint32_t production_id, uint32_t structural_index) {
  const TSFieldMapEntry *map, *end;
  ts_language_field_map(language, production_id, &map, &end);
  for (; map < end; map++) {
    if (!map->inherited && map->child_index == structural_index) return map->field_id;
  }
  return 0;
}

static inline void write_entry(
  PatmineFlatNode *out,
  const TSLanguage *language,
  const Subtree *subtree,
  Length position,
  TSSymbol alias,
  uint16_t field
) {
  Subtree self = *subtree;
  out->id = subtree;
  out->start_byte = position.bytes;
  out->end_byte = position.bytes + ts_subtree_size(self).bytes;
  out->start_row = position.extent.row;
  out->child_count = ts_subtree_visible_child_count(self);
  out->kind = public_symbol(language, alias ? alias : ts_subtree_symbol(self));
  out->named = alias ? symbol_is_named(language, alias) : ts_subtree_named(self);
  out->extra = ts_subtree_extra(self);
  out->field = field;
  for (int i = 0; i < 6; i++) out->padding[i] = 0;
}

// A named node whose kind is marked in `opaque`: its descendants are not listed.
static inline bool is_opaque(const PatmineFlatNode *entry, const uint8_t *opaque, uint32_t opaque_len) {
  return entry->named && entry->kind < opaque_len && opaque[entry->kind];
}

// Opens a frame for `subtree`'s children. The fields are written one by one into the stack:
// building the frame as a value and copying it makes the compiler read it back before its
// stores have landed, a store-forwarding stall (measured effect in docs/performance.md).
static inline void push_frame(Frame *frame, const TSLanguage *language, const Subtree *subtree, Length position, uint16_t inherited_field, uint32_t entry) {
  uint32_t production_id = subtree->ptr->production_id;
  frame->parent = *subtree;
  frame->alias_sequence = ts_language_alias_sequence(language, production_id);
  frame->position = position;
  frame->child_index = 0;
  frame->structural_child_index = 0;
  frame->production_id = production_id;
  frame->inherited_field = inherited_field;
  frame->entry = entry;
}

// The node ts_node_new makes for a subtree at `position` under `alias`.
static inline TSNode node_at(const TSTree *tree, const Subtree *subtree, Length position, TSSymbol alias) {
  return (TSNode){{position.bytes, position.extent.row, position.extent.column, alias}, subtree, tree};
}

// Writes the visible nodes under `root` (itself first) to `out`, in pre-order, and when `nodes`
// is not NULL each one's TSNode to the same index of `nodes` (as ts_tree_cursor_current_node
// gives it). Returns how many, or -1 when they would exceed `capacity`, -2 when memory runs out.
int64_t patmine_flatten_tree(TSNode root, PatmineFlatNode *out, uint32_t capacity, const uint8_t *opaque, uint32_t opaque_len, TSNode *nodes) {
  const TSTree *tree = root.tree;
  const TSLanguage *language = tree->language;
  const Subtree *root_subtree = (const Subtree *)root.id;
  if (capacity == 0) return -1;
  Length root_position = {root.context[0], {root.context[1], root.context[2]}};
  write_entry(&out[0], language, root_subtree, root_position, (TSSymbol)root.context[3], 0);
  if (nodes) nodes[0] = root;
  uint32_t count = 1;
  if (ts_subtree_child_count(*root_subtree) == 0 || is_opaque(&out[0], opaque, opaque_len)) {
    out[0].next = 1;
    return 1;
  }

  uint32_t stack_capacity = 64, depth = 0;
  Frame *stack = malloc(stack_capacity * sizeof(Frame));
  if (!stack) return -2;
  push_frame(&stack[depth++], language, root_subtree, root_position, 0, 0);

  while (depth > 0) {
    Frame *frame = &stack[depth - 1];
    uint32_t child_count = frame->parent.ptr->child_count;
    if (frame->child_index == child_count) {
      if (frame->entry != UINT32_MAX) out[frame->entry].next = count;
      depth--;
      continue;
    }
    const Subtree *children = ts_subtree_children(frame->parent);
    const Subtree *child = &children[frame->child_index];
    Length position = frame->position;
    bool extra = ts_subtree_extra(*child);
    bool visible = ts_subtree_visible(*child);
    TSSymbol alias = 0;
    uint16_t field = 0;
    if (!extra) {
      if (frame->alias_sequence) {
        alias = frame->alias_sequence[frame->structural_child_index];
        visible |= alias != 0;
      }
      field = own_field(language, frame->production_id, frame->structural_child_index);
      if (!field) field = frame->inherited_field;
      frame->structural_child_index++;
    }
    frame->position = length_add(position, ts_subtree_size(*child));
    frame->child_index++;
    if (frame->child_index < child_count) {
      frame->position = length_add(frame->position, ts_subtree_padding(children[frame->child_index]));
    }

    uint32_t entry = UINT32_MAX;
    if (visible) {
      if (count == capacity) {
        free(stack);
        return -1;
      }
      entry = count++;
      write_entry(&out[entry], language, child, position, alias, field);
      if (nodes) nodes[entry] = node_at(tree, child, position, alias);
      if (ts_subtree_child_count(*child) == 0 || is_opaque(&out[entry], opaque, opaque_len)) {
        out[entry].next = count;
        continue;
      }
      field = 0;
    } else if (ts_subtree_visible_child_count(*child) == 0) {
      continue;
    }
    if (depth == stack_capacity) {
      stack_capacity *= 2;
      Frame *grown = realloc(stack, stack_capacity * sizeof(Frame));
      if (!grown) {
        free(stack);
        return -2;
      }
      stack = grown;
    }
    push_frame(&stack[depth++], language, child, position, field, entry);
  }
  free(stack);
  return count;
}
