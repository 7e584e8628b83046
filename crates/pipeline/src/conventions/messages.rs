//! Chat content in the shapes the conventions use, turned into [`Message`]s.

use glassbox_model::{Message, Part};
use serde_json::Value;

use super::Attrs;

/// OTel GenAI `gen_ai.{input,output}.messages`: `[{role, parts:[{type, content|id|name|arguments|response}]}]`.
pub fn from_semconv(v: &Value) -> Option<Vec<Message>> {
    let items = v.as_array()?;
    Some(
        items
            .iter()
            .filter_map(|m| {
                let role = m.get("role")?.as_str()?.to_owned();
                let parts = match m.get("parts") {
                    Some(Value::Array(parts)) => parts.iter().map(semconv_part).collect(),
                    _ => match m.get("content") {
                        // Older flattened form: {role, content: "text"}.
                        Some(Value::String(s)) => vec![Part::Text { text: s.clone() }],
                        Some(other) => anthropic_blocks(other),
                        None => Vec::new(),
                    },
                };
                Some(Message { role, parts })
            })
            .collect(),
    )
}

fn semconv_part(p: &Value) -> Part {
    let s = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_owned);
    match p.get("type").and_then(Value::as_str) {
        Some("text") | Some("reasoning") if p.get("content").is_some_and(Value::is_string) => {
            Part::Text {
                text: s("content").unwrap_or_default(),
            }
        }
        Some("tool_call") => Part::ToolCall {
            id: s("id"),
            name: s("name").unwrap_or_default(),
            arguments: parse_maybe_json(p.get("arguments")),
        },
        Some("tool_call_response") => Part::ToolResult {
            id: s("id"),
            content: p
                .get("response")
                .or_else(|| p.get("result"))
                .cloned()
                .unwrap_or(Value::Null),
            is_error: false,
        },
        _ => Part::Other { value: p.clone() },
    }
}

/// `gen_ai.system_instructions`: `[{type:"text", content}]` or a plain string.
pub fn system_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Array(parts) => {
            let texts: Vec<&str> = parts
                .iter()
                .filter_map(|p| {
                    p.get("content")
                        .or_else(|| p.get("text"))
                        .and_then(Value::as_str)
                })
                .collect();
            (!texts.is_empty()).then(|| texts.join("\n"))
        }
        _ => None,
    }
}

fn parse_maybe_json(v: Option<&Value>) -> Value {
    match v {
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(v) => v.clone(),
        None => Value::Null,
    }
}

/// Anthropic Messages API content: a string or `[{type:text|tool_use|tool_result, …}]`.
pub fn anthropic_blocks(content: &Value) -> Vec<Part> {
    match content {
        Value::String(s) => vec![Part::Text { text: s.clone() }],
        Value::Array(blocks) => blocks
            .iter()
            .map(|b| {
                let s = |k: &str| b.get(k).and_then(Value::as_str).map(str::to_owned);
                match b.get("type").and_then(Value::as_str) {
                    Some("text") => Part::Text {
                        text: s("text").unwrap_or_default(),
                    },
                    Some("tool_use") => Part::ToolCall {
                        id: s("id"),
                        name: s("name").unwrap_or_default(),
                        arguments: b.get("input").cloned().unwrap_or(Value::Null),
                    },
                    Some("tool_result") => Part::ToolResult {
                        id: s("tool_use_id"),
                        content: b.get("content").cloned().unwrap_or(Value::Null),
                        is_error: b.get("is_error").and_then(Value::as_bool).unwrap_or(false),
                    },
                    _ => Part::Other { value: b.clone() },
                }
            })
            .collect(),
        Value::Null => Vec::new(),
        other => vec![Part::Other {
            value: other.clone(),
        }],
    }
}

/// Anthropic request `messages: [{role, content}]`.
pub fn from_anthropic_messages(v: &Value) -> Option<Vec<Message>> {
    Some(
        v.as_array()?
            .iter()
            .filter_map(|m| {
                Some(Message {
                    role: m.get("role")?.as_str()?.to_owned(),
                    parts: anthropic_blocks(m.get("content").unwrap_or(&Value::Null)),
                })
            })
            .collect(),
    )
}

/// OpenInference flattened messages: `{prefix}.{i}.message.{role,content,contents.{j}…,tool_calls.{j}…}`.
pub fn from_openinference(attrs: &Attrs<'_>, prefix: &str) -> Option<Vec<Message>> {
    let mut msgs: Vec<(usize, Message)> = Vec::new();
    let mut i = 0usize;
    loop {
        let base = format!("{prefix}.{i}.message");
        let role = attrs.str(&format!("{base}.role"));
        let has_any = attrs.with_prefix(&format!("{base}.")).next().is_some();
        if !has_any {
            break;
        }
        let mut parts = Vec::new();
        let tool_call_id = attrs.str(&format!("{base}.tool_call_id"));
        if let Some(text) = attrs.str(&format!("{base}.content")) {
            if let Some(id) = tool_call_id.clone() {
                parts.push(Part::ToolResult {
                    id: Some(id),
                    content: Value::String(text),
                    is_error: false,
                });
            } else {
                parts.push(Part::Text { text });
            }
        }
        let mut j = 0usize;
        while let Some(kind) = attrs.str(&format!("{base}.contents.{j}.message_content.type")) {
            if kind == "text"
                && let Some(text) = attrs.str(&format!("{base}.contents.{j}.message_content.text"))
            {
                parts.push(Part::Text { text });
            }
            j += 1;
        }
        let mut j = 0usize;
        while let Some(name) = attrs.str(&format!("{base}.tool_calls.{j}.tool_call.function.name"))
        {
            parts.push(Part::ToolCall {
                id: attrs.str(&format!("{base}.tool_calls.{j}.tool_call.id")),
                name,
                arguments: parse_maybe_json(attrs.get(&format!(
                    "{base}.tool_calls.{j}.tool_call.function.arguments"
                ))),
            });
            j += 1;
        }
        msgs.push((
            i,
            Message {
                role: role.unwrap_or_else(|| "unknown".to_owned()),
                parts,
            },
        ));
        i += 1;
        if i > 100_000 {
            break;
        }
    }
    (!msgs.is_empty()).then(|| msgs.into_iter().map(|(_, m)| m).collect())
}
