; Pattern roots for JavaScript, JSX, .mjs and .cjs (tree-sitter-javascript).
;
; Every capture is a pattern root; the capture name is the root's kind, kept beside its counts.
; Roots nested in other roots are counted on their own (a call inside a function body is a call
; occurrence). In a call chain `a.b().c()` only the outermost call is counted: the extractor drops
; calls that are the callee side of another call.

(variable_declaration) @declaration
(lexical_declaration) @declaration

(call_expression) @call
(new_expression) @new
(await_expression) @await

(function_declaration) @function
(generator_function_declaration) @function

(class_declaration) @class
(method_definition) @method

(import_statement) @import
(export_statement) @export

(expression_statement (assignment_expression) @assignment)
(expression_statement (augmented_assignment_expression) @assignment)

(if_statement) @control
(for_statement) @control
(for_in_statement) @control
(while_statement) @control
(do_statement) @control
(try_statement) @control
(switch_statement) @control
