//! Python and JavaScript/TypeScript code read with real parsers (tree-sitter): every call, with
//! its callee resolved through imports and aliases (`import urllib.request as u`, `const {rmSync} =
//! require('fs')`), its literal arguments and its keyword arguments or options object.
//!
//! tree-sitter parses without recursion and recovers from errors (TypeScript's type annotations
//! read as errors in the JavaScript grammar; the calls around them still parse). The walk over
//! the tree is iterative too, and every chain it follows is bounded.

use std::collections::HashMap;

use tree_sitter::{Node, Parser, Tree};

/// A value written in the code, as far as it is literal.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    Str(String),
    List(Vec<String>),
    /// An object or dict literal (its literal pairs; an empty one is `{}`).
    Object(Vec<(String, Value)>),
    Bool(bool),
    Number(String),
    /// Computed at run time.
    Dynamic,
}

/// One call found in the code.
#[derive(Clone, Debug)]
pub(crate) struct Call {
    /// The callee as a dotted chain, aliases resolved, calls in the chain dropped:
    /// `Order.objects.all().delete` → `Order.objects.all.delete`.
    pub name: String,
    pub args: Vec<Value>,
    /// Python keyword arguments, and the pairs of a JavaScript options object given last.
    pub kwargs: Vec<(String, Value)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grammar {
    Python,
    JavaScript,
}

/// Chains (`a.b().c`) and nested literals are followed this deep.
const MAX_CHAIN: usize = 64;
const MAX_VALUE_DEPTH: usize = 16;

/// Every call in `code`, in source order. None when the parser gives up (it never should).
pub(crate) fn calls(code: &str, grammar: Grammar) -> Option<(Vec<Call>, bool)> {
    let tree = parse(code, grammar)?;
    let root = tree.root_node();
    let src = code.as_bytes();
    let mut ctx = Walk {
        src,
        grammar,
        aliases: HashMap::new(),
        literals: HashMap::new(),
    };
    let mut out = Vec::new();
    // Iterative pre-order walk.
    let mut cursor = root.walk();
    'walk: loop {
        let node = cursor.node();
        ctx.bindings(node);
        if let Some(call) = ctx.call(node) {
            out.push(call);
        }
        if cursor.goto_first_child() {
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                continue 'walk;
            }
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    Some((out, root.has_error()))
}

fn parse(code: &str, grammar: Grammar) -> Option<Tree> {
    // One parser per grammar and thread: making one allocates its tables.
    thread_local! {
        static PARSERS: std::cell::RefCell<[Option<Parser>; 2]> = const { std::cell::RefCell::new([None, None]) };
    }
    PARSERS.with(|cell| {
        let mut parsers = cell.try_borrow_mut().ok()?;
        let slot = &mut parsers[grammar as usize];
        if slot.is_none() {
            let mut parser = Parser::new();
            let language = match grammar {
                Grammar::Python => tree_sitter_python::LANGUAGE.into(),
                Grammar::JavaScript => tree_sitter_javascript::LANGUAGE.into(),
            };
            parser.set_language(&language).ok()?;
            *slot = Some(parser);
        }
        slot.as_mut()?.parse(code, None)
    })
}

struct Walk<'s> {
    src: &'s [u8],
    grammar: Grammar,
    /// Local name → what it stands for (`u` → `urllib.request`, `rmSync` → `fs.rmSync`).
    aliases: HashMap<String, String>,
    /// Variables assigned a literal (`p = '.env'`).
    literals: HashMap<String, Value>,
}

impl Walk<'_> {
    fn text(&self, n: Node<'_>) -> String {
        n.utf8_text(self.src).unwrap_or_default().to_owned()
    }

    /// Records imports, requires and literal assignments as the walk meets them.
    fn bindings(&mut self, n: Node<'_>) {
        match (self.grammar, n.kind()) {
            (Grammar::Python, "import_statement") => {
                let mut c = n.walk();
                for child in n.named_children(&mut c) {
                    self.python_import(child, "");
                }
            }
            (Grammar::Python, "import_from_statement") => {
                let module = n
                    .child_by_field_name("module_name")
                    .map(|m| self.text(m))
                    .unwrap_or_default();
                let mut c = n.walk();
                for child in n.children_by_field_name("name", &mut c) {
                    self.python_import(child, &module);
                }
            }
            (Grammar::Python, "assignment") => {
                let (Some(left), Some(right)) = (n.child_by_field_name("left"), n.child_by_field_name("right")) else {
                    return;
                };
                self.assign(left, right);
            }
            (Grammar::JavaScript, "variable_declarator") => {
                let (Some(left), Some(right)) = (n.child_by_field_name("name"), n.child_by_field_name("value")) else {
                    return;
                };
                self.assign(left, right);
            }
            (Grammar::JavaScript, "import_statement") => self.js_import(n),
            _ => {}
        }
    }

    fn python_import(&mut self, n: Node<'_>, module: &str) {
        let join = |m: &str, name: &str| {
            if m.is_empty() {
                name.to_owned()
            } else {
                format!("{m}.{name}")
            }
        };
        match n.kind() {
            "aliased_import" => {
                let name = n.child_by_field_name("name").map(|x| self.text(x)).unwrap_or_default();
                let alias = n.child_by_field_name("alias").map(|x| self.text(x)).unwrap_or_default();
                self.aliases.insert(alias, join(module, &name));
            }
            "dotted_name" if !module.is_empty() => {
                let name = self.text(n);
                self.aliases.insert(name.clone(), join(module, &name));
            }
            _ => {}
        }
    }

    fn js_import(&mut self, n: Node<'_>) {
        let Some(Value::Str(source)) = n.child_by_field_name("source").map(|s| self.value(s, 0)) else {
            return;
        };
        let source = module_name(&source);
        let mut stack = vec![n];
        let mut seen = 0;
        while let Some(node) = stack.pop() {
            seen += 1;
            if seen > 256 {
                break;
            }
            match node.kind() {
                "import_clause" | "named_imports" => {
                    let mut c = node.walk();
                    stack.extend(node.named_children(&mut c));
                }
                "identifier" if node.parent().is_some_and(|p| p.kind() == "import_clause") => {
                    self.aliases.insert(self.text(node), source.clone());
                }
                "namespace_import" => {
                    let mut c = node.walk();
                    let id = node.named_children(&mut c).find(|x| x.kind() == "identifier");
                    if let Some(id) = id {
                        self.aliases.insert(self.text(id), source.clone());
                    }
                }
                "import_specifier" => {
                    let name = node
                        .child_by_field_name("name")
                        .map(|x| self.text(x))
                        .unwrap_or_default();
                    let alias = node
                        .child_by_field_name("alias")
                        .map(|x| self.text(x))
                        .unwrap_or(name.clone());
                    self.aliases.insert(alias, format!("{source}.{name}"));
                }
                "import_statement" => {
                    let mut c = node.walk();
                    stack.extend(node.named_children(&mut c));
                }
                _ => {}
            }
        }
    }

    /// `x = require('fs')`, `{rmSync} = require('fs')`, `s = requests.Session()`, `p = '.env'`.
    fn assign(&mut self, left: Node<'_>, right: Node<'_>) {
        let right = unwrap_await(right);
        if matches!(right.kind(), "call" | "call_expression") {
            let callee = right
                .child_by_field_name("function")
                .map(|f| self.chain(f))
                .unwrap_or_default();
            let target = if callee == "require" || callee == "__import__" || callee == "importlib.import_module" {
                self.first_string(right).map(|m| module_name(&m))
            } else {
                // A client object stands for its library: `s = requests.Session()`.
                let (head, last) = callee.rsplit_once('.').unwrap_or(("", callee.as_str()));
                matches!(
                    last,
                    "Session" | "Client" | "AsyncClient" | "create" | "PoolManager" | "connect"
                )
                .then(|| {
                    if head.is_empty() {
                        callee.clone()
                    } else {
                        head.to_owned()
                    }
                })
            };
            if let Some(target) = target {
                match left.kind() {
                    "identifier" => {
                        self.aliases.insert(self.text(left), target);
                    }
                    "object_pattern" => {
                        let mut c = left.walk();
                        for p in left.named_children(&mut c) {
                            let name = self.text(p);
                            if p.kind() == "shorthand_property_identifier_pattern" {
                                self.aliases.insert(name.clone(), format!("{target}.{name}"));
                            }
                        }
                    }
                    _ => {}
                }
            }
            return;
        }
        if left.kind() == "identifier" {
            let v = self.value(right, 0);
            if v != Value::Dynamic {
                self.literals.insert(self.text(left), v);
            }
        }
    }

    fn first_string(&self, call: Node<'_>) -> Option<String> {
        let args = call.child_by_field_name("arguments")?;
        let mut c = args.walk();
        let first = args.named_children(&mut c).next()?;
        match self.value(first, 0) {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// A call node, read.
    fn call(&self, n: Node<'_>) -> Option<Call> {
        let callee = match n.kind() {
            "call" | "call_expression" => n.child_by_field_name("function")?,
            "new_expression" => n.child_by_field_name("constructor")?,
            _ => return None,
        };
        let name = self.chain(callee);
        let mut args = Vec::new();
        let mut kwargs = Vec::new();
        if let Some(list) = n.child_by_field_name("arguments") {
            let mut c = list.walk();
            for a in list.named_children(&mut c) {
                match a.kind() {
                    "keyword_argument" => {
                        let k = a.child_by_field_name("name").map(|x| self.text(x)).unwrap_or_default();
                        let v = a
                            .child_by_field_name("value")
                            .map_or(Value::Dynamic, |x| self.value(x, 0));
                        kwargs.push((k, v));
                    }
                    "comment" => {}
                    _ => args.push(self.value(a, 0)),
                }
            }
        }
        // A JavaScript options object given last (`fetch(url, {method: 'DELETE'})`).
        if self.grammar == Grammar::JavaScript && args.len() >= 2 {
            if let Some(Value::Object(pairs)) = args.last() {
                kwargs.extend(pairs.iter().cloned());
            }
        }
        Some(Call { name, args, kwargs })
    }

    /// The callee as a dotted chain, with aliases resolved.
    fn chain(&self, n: Node<'_>) -> String {
        let mut parts: Vec<String> = Vec::new();
        let mut cur = n;
        for _ in 0..MAX_CHAIN {
            match cur.kind() {
                "identifier" | "property_identifier" | "private_property_identifier" => {
                    parts.push(self.text(cur));
                    break;
                }
                "attribute" | "member_expression" => {
                    let prop = cur
                        .child_by_field_name("attribute")
                        .or_else(|| cur.child_by_field_name("property"))
                        .map(|p| self.text(p))
                        .unwrap_or_default();
                    parts.push(prop);
                    match cur.child_by_field_name("object") {
                        Some(o) => cur = o,
                        None => break,
                    }
                }
                "call" | "call_expression" => {
                    let f = cur.child_by_field_name("function");
                    // `require('fs').rmSync` names the module.
                    if f.is_some_and(|f| self.text(f) == "require") {
                        if let Some(m) = self.first_string(cur) {
                            parts.push(module_name(&m));
                        }
                        break;
                    }
                    match f {
                        Some(f) => cur = f,
                        None => break,
                    }
                }
                "await_expression" | "parenthesized_expression" | "non_null_expression" => match cur.named_child(0) {
                    Some(c) => cur = c,
                    None => break,
                },
                "subscript" | "subscript_expression" => match cur
                    .child_by_field_name("value")
                    .or_else(|| cur.child_by_field_name("object"))
                {
                    Some(c) => cur = c,
                    None => break,
                },
                "new_expression" => match cur.child_by_field_name("constructor") {
                    Some(c) => cur = c,
                    None => break,
                },
                _ => {
                    parts.push(self.text(cur).chars().take(40).collect());
                    break;
                }
            }
        }
        parts.reverse();
        if let Some(first) = parts.first_mut() {
            if let Some(target) = self.aliases.get(first.as_str()) {
                *first = target.clone();
            }
        }
        parts.join(".")
    }

    fn value(&self, n: Node<'_>, depth: usize) -> Value {
        if depth > MAX_VALUE_DEPTH {
            return Value::Dynamic;
        }
        match n.kind() {
            "string" | "template_string" => self.string(n),
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "integer" | "float" | "number" => Value::Number(self.text(n)),
            "list" | "array" | "tuple" => {
                let mut items = Vec::new();
                let mut c = n.walk();
                for x in n.named_children(&mut c) {
                    match self.value(x, depth + 1) {
                        Value::Str(s) => items.push(s),
                        _ => return Value::Dynamic,
                    }
                }
                Value::List(items)
            }
            "dictionary" | "object" => {
                let mut pairs = Vec::new();
                let mut c = n.walk();
                for p in n.named_children(&mut c) {
                    let (Some(k), Some(v)) = (p.child_by_field_name("key"), p.child_by_field_name("value")) else {
                        continue;
                    };
                    let key = match self.value(k, depth + 1) {
                        Value::Str(s) => s,
                        _ => self.text(k),
                    };
                    pairs.push((key, self.value(v, depth + 1)));
                }
                Value::Object(pairs)
            }
            "identifier" => self.literals.get(&self.text(n)).cloned().unwrap_or(Value::Dynamic),
            "parenthesized_expression" => n.named_child(0).map_or(Value::Dynamic, |c| self.value(c, depth + 1)),
            _ => Value::Dynamic,
        }
    }

    /// A string literal's text; one with interpolation (`f"{x}"`, `` `${x}` ``) is dynamic.
    fn string(&self, n: Node<'_>) -> Value {
        let mut text = String::new();
        let mut c = n.walk();
        let children: Vec<Node<'_>> = n.named_children(&mut c).collect();
        for child in children {
            match child.kind() {
                "string_content" | "string_fragment" => text.push_str(&self.text(child)),
                "escape_sequence" => text.push_str(&unescape(&self.text(child))),
                "string_start" | "string_end" => {}
                _ => return Value::Dynamic,
            }
        }
        Value::Str(text)
    }
}

fn unwrap_await(n: Node<'_>) -> Node<'_> {
    if n.kind() == "await_expression" {
        n.named_child(0).unwrap_or(n)
    } else {
        n
    }
}

/// `node:fs` and `fs/promises` are the module `fs` (and `fs.promises`).
fn module_name(m: &str) -> String {
    m.trim_start_matches("node:").replace('/', ".")
}

fn unescape(e: &str) -> String {
    match e {
        "\\n" => "\n".into(),
        "\\t" => "\t".into(),
        "\\\\" => "\\".into(),
        "\\'" => "'".into(),
        "\\\"" => "\"".into(),
        other => other.trim_start_matches('\\').to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn names(code: &str, g: Grammar) -> Vec<String> {
        calls(code, g).unwrap().0.into_iter().map(|c| c.name).collect()
    }

    #[test]
    fn interpreter_calls_resolve_imports_and_aliases() {
        assert_eq!(
            names(
                "import urllib.request as u; u.urlopen(u.Request('x', method='DELETE'))",
                Grammar::Python
            ),
            ["urllib.request.urlopen", "urllib.request.Request"]
        );
        assert_eq!(
            names("from shutil import rmtree\nrmtree('x')", Grammar::Python),
            ["shutil.rmtree"]
        );
        assert_eq!(
            names("Order.objects.all().delete()", Grammar::Python),
            ["Order.objects.all.delete", "Order.objects.all"]
        );
        assert_eq!(
            names("require('axios').delete('u')", Grammar::JavaScript),
            ["axios.delete", "require"]
        );
        assert_eq!(
            names("const {rmSync} = require('node:fs'); rmSync('d')", Grammar::JavaScript),
            ["require", "fs.rmSync"]
        );
        assert_eq!(
            names("import fs from 'fs'; fs.unlinkSync('a')", Grammar::JavaScript),
            ["fs.unlinkSync"]
        );
        assert_eq!(names("print('os.remove(1)')", Grammar::Python), ["print"]);
    }

    #[test]
    fn interpreter_arguments_and_options_are_read() {
        let (c, _) = calls(
            "fetch('https://x/1', {method: 'DELETE', headers: {a: process.env.T}})",
            Grammar::JavaScript,
        )
        .unwrap();
        assert_eq!(c[0].args[0], Value::Str("https://x/1".into()));
        assert!(c[0]
            .kwargs
            .iter()
            .any(|(k, v)| k == "method" && *v == Value::Str("DELETE".into())));
        let (c, _) = calls("requests.delete(f'https://x/{i}')", Grammar::Python).unwrap();
        assert_eq!(c[0].args[0], Value::Dynamic);
        let (c, _) = calls("subprocess.run(['rm', '-rf', 'x'])", Grammar::Python).unwrap();
        assert_eq!(c[0].args[0], Value::List(vec!["rm".into(), "-rf".into(), "x".into()]));
    }

    proptest! {
        /// Any text parses to some tree and the walk ends, whatever its nesting.
        #[test]
        fn interpreter_parse_is_total(code in "[a-z(){}\\[\\]'\",.=: \\n]{0,200}") {
            let _ = calls(&code, Grammar::Python);
            let _ = calls(&code, Grammar::JavaScript);
        }
    }

    #[test]
    fn interpreter_deep_nesting_does_not_overflow() {
        let deep = format!("{}1{}", "(".repeat(50_000), ")".repeat(50_000));
        let r = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || calls(&deep, Grammar::Python).map(|c| c.0.len()))
            .unwrap()
            .join();
        assert!(r.is_ok());
    }
}
