//! A template read into a tree that remembers the line of every node, from saphyr-parser's events:
//! YAML 1.2 with CloudFormation's short intrinsic forms (`!Ref`, `!Sub`, `!GetAtt`, `!If`, …) and
//! JSON (which the same parser reads, tabs included).
//!
//! Scalars become what CloudFormation sends a custom resource: strings. A plain `true` or `300`
//! is `"true"` / `"300"`; a plain `null`, `~` or nothing is null. Intrinsic functions, short
//! (`!Sub x`) or long (`{"Fn::Sub": x}`, `{"Ref": x}`), become [`Value::Intrinsic`]. Mapping
//! entries keep their order and their duplicates (CloudFormation refuses those; the lint says so).

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

/// One node and the line (1-based) it starts on.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Seq(Vec<Node>),
    Map(Vec<Entry>),
    /// `Ref`, `Condition` or `Fn::NAME` and its argument: decided at deploy time.
    Intrinsic {
        name: String,
        arg: Box<Node>,
    },
}

/// A mapping entry: its key, the key's line, its value.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub line: usize,
    pub value: Node,
}

impl Node {
    /// The value of the first entry named `key` of a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }

    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The intrinsic function's name and argument, if this is one.
    pub fn intrinsic(&self) -> Option<(&str, &Node)> {
        match &self.value {
            Value::Intrinsic { name, arg } => Some((name, arg)),
            _ => None,
        }
    }

    /// `Ref: AWS::NoValue` (`!Ref AWS::NoValue`): CloudFormation removes the property or item.
    pub fn is_no_value(&self) -> bool {
        matches!(self.intrinsic(), Some(("Ref", arg)) if arg.as_str() == Some("AWS::NoValue"))
    }

    /// The node as CloudFormation's JSON form: scalars as strings (what a custom resource is
    /// sent), intrinsics in their long form (`!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`); of a
    /// key given twice, the last counts.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as Json;
        match &self.value {
            Value::Null => Json::Null,
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect()),
            Value::Intrinsic { name, arg } => {
                let arg = match (name.as_str(), arg.as_str().and_then(|a| a.split_once('.'))) {
                    ("Fn::GetAtt", Some((resource, attribute))) => serde_json::json!([resource, attribute]),
                    _ => arg.to_json(),
                };
                serde_json::json!({ name: arg })
            }
        }
    }

    /// The node as text without lines, to compare two nodes (e.g. two ServiceTokens).
    pub fn shape(&self) -> String {
        match &self.value {
            Value::Null => "null".into(),
            Value::Str(s) => format!("{s:?}"),
            Value::Seq(items) => format!("[{}]", items.iter().map(Node::shape).collect::<Vec<_>>().join(",")),
            Value::Map(entries) => {
                format!(
                    "{{{}}}",
                    entries
                        .iter()
                        .map(|e| format!("{:?}:{}", e.key, e.value.shape()))
                        .collect::<Vec<_>>()
                        .join(",")
                )
            }
            Value::Intrinsic { name, arg } => format!("{{{name:?}:{}}}", arg.shape()),
        }
    }
}

/// Why a text is not a template we can read, and where (line 1-based, when known).
#[derive(Debug, PartialEq)]
pub struct ParseError {
    pub line: Option<usize>,
    pub message: String,
}

/// Reads one YAML or JSON document.
pub fn parse(text: &str) -> Result<Node, ParseError> {
    let mut builder = Builder::default();
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| ParseError {
            line: Some(e.marker().line()),
            message: format!("not valid YAML or JSON: {}", e.info()),
        })?;
        builder.event(event, span)?;
    }
    match builder.documents.len() {
        1 => Ok(builder.documents.remove(0)),
        0 => Err(ParseError {
            line: None,
            message: "empty: no YAML or JSON document".into(),
        }),
        n => Err(ParseError {
            line: Some(builder.documents[1].line),
            message: format!("{n} YAML documents in one file; a template is one document"),
        }),
    }
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    anchors: HashMap<usize, Node>,
    documents: Vec<Node>,
}

/// A collection being read.
struct Open {
    line: usize,
    anchor: usize,
    tag: Option<String>,
    kind: OpenKind,
}

enum OpenKind {
    Seq(Vec<Node>),
    /// Entries so far and a key waiting for its value.
    Map(Vec<Entry>, Option<(String, usize)>),
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), ParseError> {
        let line = span.start.line();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = scalar(&text, style, tag.as_deref(), line);
                self.complete(node, anchor)
            }
            Event::Alias(id) => {
                let node = self.anchors.get(&id).cloned().ok_or_else(|| ParseError {
                    line: Some(line),
                    message: "alias of an unknown anchor".into(),
                })?;
                self.complete(node, 0)
            }
            Event::SequenceStart(anchor, tag) => {
                self.stack.push(Open {
                    line,
                    anchor,
                    tag: local_tag(tag.as_deref()),
                    kind: OpenKind::Seq(Vec::new()),
                });
                Ok(())
            }
            Event::MappingStart(anchor, tag) => {
                self.stack.push(Open {
                    line,
                    anchor,
                    tag: local_tag(tag.as_deref()),
                    kind: OpenKind::Map(Vec::new(), None),
                });
                Ok(())
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let open = self.stack.pop().ok_or_else(|| ParseError {
                    line: Some(line),
                    message: "unbalanced collection".into(),
                })?;
                let value = match open.kind {
                    OpenKind::Seq(items) => Value::Seq(items),
                    OpenKind::Map(entries, _) => long_form(entries),
                };
                let node = wrap(Node { line: open.line, value }, open.tag);
                self.complete(node, open.anchor)
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentStart(_) | Event::DocumentEnd | Event::Nothing => {
                Ok(())
            }
        }
    }

    /// A node is finished: remember its anchor, then it is a key, a value or a document.
    fn complete(&mut self, node: Node, anchor: usize) -> Result<(), ParseError> {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
        let Some(open) = self.stack.last_mut() else {
            self.documents.push(node);
            return Ok(());
        };
        match &mut open.kind {
            OpenKind::Seq(items) => items.push(node),
            OpenKind::Map(entries, pending) => match pending.take() {
                Some((key, line)) => entries.push(Entry { key, line, value: node }),
                None => match node.value {
                    Value::Str(key) => *pending = Some((key, node.line)),
                    Value::Null => *pending = Some((String::new(), node.line)),
                    _ => {
                        return Err(ParseError {
                            line: Some(node.line),
                            message: "a mapping key must be a plain string".into(),
                        })
                    }
                },
            },
        }
        Ok(())
    }
}

/// A scalar as CloudFormation passes it on: a string, or null.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, line: usize) -> Node {
    let quoted = style != ScalarStyle::Plain || tag.is_some_and(|t| t.is_yaml_core_schema() && t.suffix == "str");
    let value = if quoted {
        Value::Str(text.to_owned())
    } else {
        match text {
            "" | "~" | "null" | "Null" | "NULL" => Value::Null,
            "true" | "True" | "TRUE" => Value::Str("true".into()),
            "false" | "False" | "FALSE" => Value::Str("false".into()),
            _ => Value::Str(text.to_owned()),
        }
    };
    // `!GetAZs` with nothing after it: the argument is an empty string, not null.
    let function = local_tag(tag);
    let value = if function.is_some() && value == Value::Null {
        Value::Str(String::new())
    } else {
        value
    };
    wrap(Node { line, value }, function)
}

/// The function a local tag (`!Ref`, `!GetAtt`, …) names; `None` for no tag or a YAML core tag (`!!str`).
fn local_tag(tag: Option<&Tag>) -> Option<String> {
    let tag = tag?;
    if tag.handle != "!" || tag.suffix.is_empty() {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" | "Condition" => tag.suffix.clone(),
        other => format!("Fn::{other}"),
    })
}

/// The short form `!NAME arg` as the long form `{"Fn::NAME": arg}`. `!GetAtt A.B` keeps its
/// string argument (the long form's `[A, B]` is read the same way where it matters).
fn wrap(node: Node, function: Option<String>) -> Node {
    match function {
        None => node,
        Some(name) => Node {
            line: node.line,
            value: Value::Intrinsic {
                name,
                arg: Box::new(node),
            },
        },
    }
}

/// A one-entry mapping `{"Ref": x}` or `{"Fn::NAME": x}` is that function.
fn long_form(mut entries: Vec<Entry>) -> Value {
    if entries.len() == 1 && (entries[0].key == "Ref" || entries[0].key.starts_with("Fn::")) {
        let Entry { key, value, .. } = entries.remove(0);
        return Value::Intrinsic {
            name: key,
            arg: Box::new(value),
        };
    }
    Value::Map(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_intrinsic_forms_read_as_long_ones_in_json() {
        let v = parse("a: !Ref X\nb: !GetAtt R.Arn\nc: !Sub \"${X}-y\"\nd: !If [C, 1, !Ref AWS::NoValue]\ne: \"600\"\nf: 600\ng: {\"Fn::GetAtt\": [R, Arn]}\n")
            .unwrap()
            .to_json();
        assert_eq!(
            v,
            serde_json::json!({
                "a": {"Ref": "X"}, "b": {"Fn::GetAtt": ["R", "Arn"]}, "c": {"Fn::Sub": "${X}-y"},
                "d": {"Fn::If": ["C", "1", {"Ref": "AWS::NoValue"}]}, "e": "600", "f": "600",
                "g": {"Fn::GetAtt": ["R", "Arn"]}
            })
        );
    }

    fn s(line: usize, text: &str) -> Node {
        Node {
            line,
            value: Value::Str(text.into()),
        }
    }

    #[test]
    fn short_and_long_forms_are_the_same_function() {
        let yaml =
            parse("A: !Ref X\nB: {Ref: X}\nC: !If [Cond, a, !Ref AWS::NoValue]\nD:\n  Fn::GetAtt: [R, Arn]\n").unwrap();
        assert_eq!(yaml.get("A").unwrap().intrinsic(), Some(("Ref", &s(1, "X"))));
        assert_eq!(yaml.get("B").unwrap().intrinsic(), Some(("Ref", &s(2, "X"))));
        let (name, arg) = yaml.get("C").unwrap().intrinsic().unwrap();
        assert_eq!(name, "Fn::If");
        let Value::Seq(items) = &arg.value else {
            panic!("{arg:?}")
        };
        assert!(items[2].is_no_value());
        assert_eq!(yaml.get("D").unwrap().intrinsic().unwrap().0, "Fn::GetAtt");
        assert_eq!(yaml.get("D").unwrap().line, 5);
    }

    #[test]
    fn scalars_become_what_cloudformation_sends() {
        let yaml = parse("a: true\nb: 300\nc: '300'\nd:\ne: ~\nf: !!str null\ng: FALSE\nh: !Sub\n").unwrap();
        assert_eq!(yaml.get("a").unwrap().as_str(), Some("true"));
        assert_eq!(yaml.get("b").unwrap().as_str(), Some("300"));
        assert_eq!(yaml.get("c").unwrap().as_str(), Some("300"));
        assert_eq!(yaml.get("d").unwrap().value, Value::Null);
        assert_eq!(yaml.get("e").unwrap().value, Value::Null);
        assert_eq!(yaml.get("f").unwrap().as_str(), Some("null"));
        assert_eq!(yaml.get("g").unwrap().as_str(), Some("false"));
        assert_eq!(yaml.get("h").unwrap().intrinsic().unwrap().0, "Fn::Sub");
    }

    #[test]
    fn json_with_tabs_and_lines() {
        let json = "{\n\t\"Resources\": {\n\t\t\"A\": {\"Type\": \"Custom::X\",\n\t\t\t\"Properties\": {\"N\": 5, \"B\": true, \"Z\": null}}\n\t}\n}\n";
        let doc = parse(json).unwrap();
        let a = doc.get("Resources").unwrap().get("A").unwrap();
        assert_eq!(a.entry("Properties").unwrap().line, 4);
        let props = a.get("Properties").unwrap();
        assert_eq!(props.get("N").unwrap().as_str(), Some("5"));
        assert_eq!(props.get("B").unwrap().as_str(), Some("true"));
        assert_eq!(props.get("Z").unwrap().value, Value::Null);
    }

    #[test]
    fn duplicates_are_kept_and_aliases_resolved() {
        let doc = parse("a: &x [1, 2]\na: *x\n").unwrap();
        let Value::Map(entries) = &doc.value else { panic!() };
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].value.shape(), entries[1].value.shape());
    }

    #[test]
    fn errors_say_where() {
        let e = parse("a: [1, 2\nb: c\n").unwrap_err();
        assert!(e.line.is_some() && e.message.starts_with("not valid YAML"), "{e:?}");
        assert_eq!(parse("").unwrap_err().line, None);
        assert_eq!(parse("a: 1\n---\nb: 2\n").unwrap_err().line, Some(3));
    }
}
