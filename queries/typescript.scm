; Pattern roots for TypeScript (tree-sitter-typescript, `typescript` grammar).
;
; Same roots as JavaScript, plus the type-level declarations. See javascript.scm for the rules.

(variable_declaration) @declaration
(lexical_declaration) @declaration

(call_expression) @call
(new_expression) @new
(await_expression) @await

(function_declaration) @function
(generator_function_declaration) @function
(function_signature) @function

(class_declaration) @class
(abstract_class_declaration) @class
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

(interface_declaration) @type
(type_alias_declaration) @type
(enum_declaration) @type
