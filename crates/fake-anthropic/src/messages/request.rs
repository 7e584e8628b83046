//! Validation of a `/v1/messages` body into what the fake needs, with the API's field-path
//! error messages (`messages.0.role: …`).

use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::tokens::{Segment, Ttl};

const FIELDS: &[&str] = &[
    "model",
    "messages",
    "max_tokens",
    "system",
    "temperature",
    "top_p",
    "top_k",
    "stream",
    "stop_sequences",
    "tools",
    "tool_choice",
    "metadata",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
    "output_config",
    "output_format",
    "inference_geo",
    "cache_control",
    "diagnostics",
    "speed",
    "user_profile_id",
    "workspace_id",
];
const BLOCK_TYPES: &str =
    "'text', 'image', 'document', 'tool_use', 'tool_result', 'thinking', 'redacted_thinking'";
const MAX_BREAKPOINTS: usize = 4;

/// A validated request.
#[derive(Debug)]
pub(crate) struct MessagesRequest {
    pub model: String,
    pub max_tokens: u64,
    pub stream: bool,
    pub stop_sequences: Vec<String>,
    /// The system prompt's text blocks, joined by newlines.
    pub system: String,
    /// The last user message's text blocks, joined by newlines.
    pub last_user: String,
    pub tool_choice: ToolChoice,
    pub segments: Vec<Segment>,
}

/// What `tool_choice` obliges the model to do.
#[derive(Debug, PartialEq)]
pub(crate) enum ToolChoice {
    /// The model may answer in text.
    Free,
    /// A forced tool whose schema asks for `score` and `reasoning`: the fake judges.
    Judge(String),
    /// Any other forced tool.
    Forced(String),
}

pub(crate) fn parse(body: &Value) -> Result<MessagesRequest, ApiError> {
    let top = object(body, "body")?;
    for key in top.keys() {
        if !FIELDS.contains(&key.as_str()) {
            return Err(ApiError::field(key, "Extra inputs are not permitted"));
        }
    }
    let model = string(required(top, "model")?, "model")?;
    if model.is_empty() {
        return Err(ApiError::field(
            "model",
            "String should have at least 1 character",
        ));
    }
    let max_tokens = match required(top, "max_tokens")? {
        Value::Number(n) if n.is_u64() || n.is_i64() => n.as_i64().unwrap_or(i64::MAX),
        _ => {
            return Err(ApiError::field(
                "max_tokens",
                "Input should be a valid integer",
            ));
        }
    };
    if max_tokens < 1 {
        return Err(ApiError::field(
            "max_tokens",
            "Input should be greater than or equal to 1",
        ));
    }
    for (name, max) in [("temperature", 1.0), ("top_p", 1.0)] {
        if let Some(value) = present(top, name) {
            let v = value
                .as_f64()
                .ok_or_else(|| ApiError::field(name, "Input should be a valid number"))?;
            if v < 0.0 {
                return Err(ApiError::field(
                    name,
                    "Input should be greater than or equal to 0",
                ));
            }
            if v > max {
                return Err(ApiError::field(
                    name,
                    &format!("Input should be less than or equal to {max}"),
                ));
            }
        }
    }
    if present(top, "top_k").is_some_and(|top_k| top_k.as_u64().is_none()) {
        return Err(ApiError::field(
            "top_k",
            "Input should be a valid integer, greater than or equal to 0",
        ));
    }
    let stream = match present(top, "stream") {
        None => false,
        Some(value) => value
            .as_bool()
            .ok_or_else(|| ApiError::field("stream", "Input should be a valid boolean"))?,
    };
    let stop_sequences = match present(top, "stop_sequences") {
        None => Vec::new(),
        Some(value) => array(value, "stop_sequences")?
            .iter()
            .enumerate()
            .map(|(i, s)| string(s, &format!("stop_sequences.{i}")).map(str::to_string))
            .collect::<Result<_, _>>()?,
    };
    if let Some(metadata) = present(top, "metadata") {
        for (key, value) in object(metadata, "metadata")? {
            if key != "user_id" {
                return Err(ApiError::field(
                    &format!("metadata.{key}"),
                    "Extra inputs are not permitted",
                ));
            }
            if !value.is_null() {
                string(value, "metadata.user_id")?;
            }
        }
    }

    let mut segments = Vec::new();
    let tool_names = tools(present(top, "tools"), &mut segments)?;
    let tool_choice = tool_choice(
        present(top, "tool_choice"),
        present(top, "tools"),
        &tool_names,
    )?;
    let system = system(present(top, "system"), &mut segments)?;
    let last_user = messages(required(top, "messages")?, &mut segments)?;
    // Top-level cache_control marks the last block, the way SDKs' automatic caching asks for.
    if let (Some(ttl), Some(last)) = (cache_control(top, "")?, segments.last_mut()) {
        last.cache.get_or_insert(ttl);
    }

    let breakpoints = segments.iter().filter(|s| s.cache.is_some()).count();
    if breakpoints > MAX_BREAKPOINTS {
        return Err(ApiError::invalid(format!(
            "A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. Found {breakpoints}."
        )));
    }
    Ok(MessagesRequest {
        model: model.to_string(),
        max_tokens: max_tokens as u64,
        stream,
        stop_sequences,
        system,
        last_user,
        tool_choice,
        segments,
    })
}

fn tools(value: Option<&Value>, segments: &mut Vec<Segment>) -> Result<Vec<String>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let mut names = Vec::new();
    for (i, tool) in array(value, "tools")?.iter().enumerate() {
        let path = format!("tools.{i}");
        let fields = object(tool, &path)?;
        let name = string(required_at(fields, "name", &path)?, &format!("{path}.name"))?;
        let valid_name = (1..=128).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid_name {
            return Err(ApiError::field(
                &format!("{path}.name"),
                "String should match pattern '^[a-zA-Z0-9_-]{1,128}$'",
            ));
        }
        // Server tools (`web_search_…`) carry a versioned `type` and no schema.
        let custom = matches!(
            fields.get("type").and_then(Value::as_str),
            None | Some("custom")
        );
        if custom {
            let schema_path = format!("{path}.custom.input_schema");
            object(
                required_at(fields, "input_schema", &format!("{path}.custom"))?,
                &schema_path,
            )?;
            if let Some(description) = present(fields, "description") {
                string(description, &format!("{path}.custom.description"))?;
            }
        }
        if names.iter().any(|n| n == name) {
            return Err(ApiError::field("tools", "Tool names must be unique."));
        }
        names.push(name.to_string());
        let cache = cache_control(fields, &path)?;
        let key = without_cache_control(fields);
        segments.push(Segment::new(&key, cache, format!("tool:{key}")));
    }
    Ok(names)
}

fn tool_choice(
    value: Option<&Value>,
    tools: Option<&Value>,
    names: &[String],
) -> Result<ToolChoice, ApiError> {
    let Some(value) = value else {
        return Ok(ToolChoice::Free);
    };
    let fields = object(value, "tool_choice")?;
    let kind = string(
        required_at(fields, "type", "tool_choice")?,
        "tool_choice.type",
    )?;
    if let Some(flag) = present(fields, "disable_parallel_tool_use") {
        flag.as_bool().ok_or_else(|| {
            ApiError::field(
                "tool_choice.disable_parallel_tool_use",
                "Input should be a valid boolean",
            )
        })?;
    }
    match kind {
        "auto" | "any" | "none" => Ok(ToolChoice::Free),
        "tool" => {
            let name = string(
                required_at(fields, "name", "tool_choice.tool")?,
                "tool_choice.tool.name",
            )?;
            if !names.iter().any(|n| n == name) {
                return Err(ApiError::field(
                    "tool_choice.tool.name",
                    &format!("Tool '{name}' not found in the provided tools"),
                ));
            }
            let asks_for_verdict = tools
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|tool| tool.get("name").and_then(Value::as_str) == Some(name))
                .filter_map(|tool| {
                    tool.pointer("/input_schema/properties")
                        .and_then(Value::as_object)
                })
                .any(|props| props.contains_key("score") && props.contains_key("reasoning"));
            Ok(if asks_for_verdict {
                ToolChoice::Judge(name.to_string())
            } else {
                ToolChoice::Forced(name.to_string())
            })
        }
        other => Err(ApiError::field(
            "tool_choice",
            &format!(
                "Input tag '{other}' found using 'type' does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
            ),
        )),
    }
}

fn system(value: Option<&Value>, segments: &mut Vec<Segment>) -> Result<String, ApiError> {
    match value {
        None => Ok(String::new()),
        Some(Value::String(text)) => {
            segments.push(Segment::new(text, None, format!("system:{text}")));
            Ok(text.clone())
        }
        Some(Value::Array(blocks)) => {
            let mut texts = Vec::new();
            for (i, block) in blocks.iter().enumerate() {
                let path = format!("system.{i}");
                let fields = object(block, &path)?;
                let kind = string(required_at(fields, "type", &path)?, &format!("{path}.type"))?;
                if kind != "text" {
                    return Err(ApiError::field(
                        &format!("{path}.type"),
                        "Input should be 'text'",
                    ));
                }
                let text = string(required_at(fields, "text", &path)?, &format!("{path}.text"))?;
                if text.is_empty() {
                    return Err(ApiError::field(
                        "system",
                        "text content blocks must be non-empty",
                    ));
                }
                let cache = cache_control(fields, &path)?;
                segments.push(Segment::new(text, cache, format!("system:{text}")));
                texts.push(text);
            }
            Ok(texts.join("\n"))
        }
        Some(_) => Err(ApiError::field(
            "system",
            "Input should be a valid string or a list of text blocks",
        )),
    }
}

/// Validates the messages, adds their segments, and returns the last user message's text.
fn messages(value: &Value, segments: &mut Vec<Segment>) -> Result<String, ApiError> {
    let list = array(value, "messages")?;
    if list.is_empty() {
        return Err(ApiError::field(
            "messages",
            "at least one message is required",
        ));
    }
    let mut last_user = String::new();
    for (i, message) in list.iter().enumerate() {
        let path = format!("messages.{i}");
        let fields = object(message, &path)?;
        for key in fields.keys() {
            if key != "role" && key != "content" {
                return Err(ApiError::field(
                    &format!("{path}.{key}"),
                    "Extra inputs are not permitted",
                ));
            }
        }
        let role = match required_at(fields, "role", &path)? {
            Value::String(role) if role == "user" || role == "assistant" => role.as_str(),
            _ => {
                return Err(ApiError::field(
                    &format!("{path}.role"),
                    "Input should be 'user' or 'assistant'",
                ));
            }
        };
        let final_assistant = role == "assistant" && i + 1 == list.len();
        let mut texts = Vec::new();
        let empty = match required_at(fields, "content", &path)? {
            Value::String(text) => {
                segments.push(Segment::new(text, None, format!("{role}/{i}:{text}")));
                texts.push(text.as_str());
                text.is_empty()
            }
            Value::Array(blocks) => {
                for (j, block) in blocks.iter().enumerate() {
                    let block_path = format!("{path}.content.{j}");
                    let (segment_text, text) = content_block(block, &block_path)?;
                    let cache = cache_control(object(block, &block_path)?, &block_path)?;
                    let key = format!(
                        "{role}/{i}/{j}:{}",
                        without_cache_control(object(block, &block_path)?)
                    );
                    segments.push(Segment::new(&segment_text, cache, key));
                    texts.extend(text);
                }
                blocks.is_empty()
            }
            _ => {
                return Err(ApiError::field(
                    &format!("{path}.content"),
                    "Input should be a valid string or a list of content blocks",
                ));
            }
        };
        if empty && !final_assistant {
            return Err(ApiError::field(
                &path,
                "all messages must have non-empty content except for the optional final assistant message",
            ));
        }
        if role == "user" {
            last_user = texts.join("\n");
        }
    }
    Ok(last_user)
}

/// Validates one content block: returns the text its tokens are counted from, and its text
/// when it is a text block.
fn content_block<'a>(block: &'a Value, path: &str) -> Result<(String, Option<&'a str>), ApiError> {
    let fields = object(block, path)?;
    let kind = string(required_at(fields, "type", path)?, &format!("{path}.type"))?;
    let at = |field: &str| format!("{path}.{field}");
    match kind {
        "text" => {
            let text = string(required_at(fields, "text", path)?, &at("text"))?;
            if text.is_empty() {
                return Err(ApiError::field(
                    "messages",
                    "text content blocks must be non-empty",
                ));
            }
            Ok((text.to_string(), Some(text)))
        }
        "tool_use" => {
            string(required_at(fields, "id", path)?, &at("id"))?;
            string(required_at(fields, "name", path)?, &at("name"))?;
            let input = required_at(fields, "input", path)?;
            object(input, &at("input"))?;
            Ok((input.to_string(), None))
        }
        "tool_result" => {
            string(
                required_at(fields, "tool_use_id", path)?,
                &at("tool_use_id"),
            )?;
            if let Some(flag) = present(fields, "is_error") {
                flag.as_bool().ok_or_else(|| {
                    ApiError::field(&at("is_error"), "Input should be a valid boolean")
                })?;
            }
            let counted = match present(fields, "content") {
                None => String::new(),
                Some(Value::String(text)) => text.clone(),
                Some(Value::Array(parts)) => {
                    let mut texts = Vec::new();
                    for (k, part) in parts.iter().enumerate() {
                        let part_path = format!("{path}.content.{k}");
                        let part_fields = object(part, &part_path)?;
                        match part_fields.get("text").and_then(Value::as_str) {
                            Some(text) => texts.push(text.to_string()),
                            None => texts.push(part.to_string()),
                        }
                    }
                    texts.join("\n")
                }
                Some(_) => {
                    return Err(ApiError::field(
                        &at("content"),
                        "Input should be a valid string or a list of content blocks",
                    ));
                }
            };
            Ok((counted, None))
        }
        "image" | "document" => {
            object(required_at(fields, "source", path)?, &at("source"))?;
            Ok((block.to_string(), None))
        }
        "thinking" => {
            let thinking = string(required_at(fields, "thinking", path)?, &at("thinking"))?;
            string(required_at(fields, "signature", path)?, &at("signature"))?;
            Ok((thinking.to_string(), None))
        }
        "redacted_thinking" => {
            let data = string(required_at(fields, "data", path)?, &at("data"))?;
            Ok((data.to_string(), None))
        }
        other => Err(ApiError::field(
            &at("type"),
            &format!(
                "Input tag '{other}' found using 'type' does not match any of the expected tags: {BLOCK_TYPES}"
            ),
        )),
    }
}

fn cache_control(fields: &Map<String, Value>, path: &str) -> Result<Option<Ttl>, ApiError> {
    let Some(value) = present(fields, "cache_control") else {
        return Ok(None);
    };
    let path = match path {
        "" => "cache_control".to_string(),
        _ => format!("{path}.cache_control"),
    };
    let control = object(value, &path)?;
    if control.get("type").and_then(Value::as_str) != Some("ephemeral") {
        return Err(ApiError::field(
            &format!("{path}.type"),
            "Input should be 'ephemeral'",
        ));
    }
    match present(control, "ttl") {
        None => Ok(Some(Ttl::FiveMinutes)),
        Some(Value::String(ttl)) if ttl == "5m" => Ok(Some(Ttl::FiveMinutes)),
        Some(Value::String(ttl)) if ttl == "1h" => Ok(Some(Ttl::OneHour)),
        Some(_) => Err(ApiError::field(
            &format!("{path}.ttl"),
            "Input should be '5m' or '1h'",
        )),
    }
}

/// The block's JSON without its `cache_control`, which marks a breakpoint but is not content.
fn without_cache_control(fields: &Map<String, Value>) -> String {
    let mut copy = fields.clone();
    copy.remove("cache_control");
    Value::Object(copy).to_string()
}

/// A field that is present and not null (the API treats null as absent for optional fields).
fn present<'a>(fields: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    fields.get(name).filter(|v| !v.is_null())
}

fn required<'a>(fields: &'a Map<String, Value>, name: &str) -> Result<&'a Value, ApiError> {
    present(fields, name).ok_or_else(|| ApiError::field(name, "Field required"))
}

fn required_at<'a>(
    fields: &'a Map<String, Value>,
    name: &str,
    path: &str,
) -> Result<&'a Value, ApiError> {
    present(fields, name)
        .ok_or_else(|| ApiError::field(&format!("{path}.{name}"), "Field required"))
}

fn object<'a>(value: &'a Value, path: &str) -> Result<&'a Map<String, Value>, ApiError> {
    value
        .as_object()
        .ok_or_else(|| ApiError::field(path, "Input should be a valid dictionary or object"))
}

fn array<'a>(value: &'a Value, path: &str) -> Result<&'a Vec<Value>, ApiError> {
    value
        .as_array()
        .ok_or_else(|| ApiError::field(path, "Input should be a valid list"))
}

fn string<'a>(value: &'a Value, path: &str) -> Result<&'a str, ApiError> {
    value
        .as_str()
        .ok_or_else(|| ApiError::field(path, "Input should be a valid string"))
}
