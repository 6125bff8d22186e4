//! What a workflow tool advertises of its arguments.
//!
//! A call is checked against the tool's full argument type, which takes every
//! field PAL's clients send. The schema listed to clients is kept small, since
//! the whole tools/list shares one budget of about 19 KB: no `null`
//! alternatives or defaults. Every field is
//! listed; fields named in a tool's `unlisted` set lose their description
//! (their names say enough).

use schemars::JsonSchema;
use serde_json::Value;

use crate::tools::args::schema_for;

/// Fields whose names say enough: listed without a description.
const PLAIN: [&str; 2] = ["temperature", "thinking_mode"];

/// The schema of `A` as clients see it; `unlisted` fields are listed bare.
pub(super) fn advertised<A: JsonSchema>(unlisted: &[&str]) -> Value {
    let mut schema = schema_for::<A>();
    slim(&mut schema);
    if let Value::Object(map) = &mut schema {
        // Unknown fields are refused when a call is checked; saying so here
        // would only cost bytes.
        map.remove("additionalProperties");
    }
    if let Some(Value::Object(props)) = schema.get_mut("properties") {
        for field in PLAIN.iter().chain(unlisted) {
            if let Some(Value::Object(property)) = props.get_mut(*field) {
                property.remove("description");
            }
        }
        for (name, property) in props.iter_mut() {
            let Value::Object(property) = property else {
                continue;
            };
            // List item types stay: some clients (OpenAI function calling)
            // refuse an array schema without them.
            // Checked on each call, with a message saying what to send.
            if matches!(name.as_str(), "step_number" | "total_steps") {
                property.remove("minimum");
            }
            // The answer to each step says which id to send; the other two
            // are named plainly enough, and checked with clear errors.
            if matches!(name.as_str(), "continuation_id" | "step" | "relevant_files") {
                property.remove("description");
            }
            // An issue's shape fits in a few words; the call is checked in full.
            if name == "issues_found" {
                property.insert("items".into(), serde_json::json!({"type": "object"}));
                property.insert(
                    "description".into(),
                    "{severity: critical|high|medium|low, description}".into(),
                );
            }
        }
    }
    schema
}

/// Drops `"default": null` and `null` among an optional field's values.
fn slim(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("default") == Some(&Value::Null) {
                map.remove("default");
            }
            if let Some(Value::Array(options)) = map.get_mut("enum") {
                options.retain(|o| !o.is_null());
            }
            map.values_mut().for_each(slim);
        }
        Value::Array(items) => items.iter_mut().for_each(slim),
        _ => {}
    }
}
