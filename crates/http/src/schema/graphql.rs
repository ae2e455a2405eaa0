//! A GraphQL schema from an introspection result (`{"data": {"__schema": …}}` or
//! `{"__schema": …}`): the root types' fields, with their descriptions.

use std::collections::HashMap;

use serde_json::Value;

use crate::graphql::OpKind;

/// A root field as the schema describes it.
#[derive(Clone, Debug, Default)]
pub struct FieldInfo {
    pub description: Option<String>,
}

#[derive(Debug, Default)]
pub struct GraphqlSchema {
    query: HashMap<String, FieldInfo>,
    mutation: HashMap<String, FieldInfo>,
    subscription: HashMap<String, FieldInfo>,
}

fn root_fields(types: &[Value], root: &Value) -> HashMap<String, FieldInfo> {
    let Some(name) = root.get("name").and_then(Value::as_str) else {
        return HashMap::new();
    };
    let Some(t) = types
        .iter()
        .find(|t| t.get("name").and_then(Value::as_str) == Some(name))
    else {
        return HashMap::new();
    };
    t.get("fields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| {
            let n = f.get("name")?.as_str()?.to_owned();
            let description = f.get("description").and_then(Value::as_str).map(str::to_owned);
            Some((n, FieldInfo { description }))
        })
        .collect()
}

impl GraphqlSchema {
    pub fn from_json(v: &Value) -> Result<GraphqlSchema, String> {
        let schema = v
            .pointer("/data/__schema")
            .or_else(|| v.get("__schema"))
            .ok_or("neither an OpenAPI document nor a GraphQL introspection result (no __schema)")?;
        let types = schema
            .get("types")
            .and_then(Value::as_array)
            .ok_or("the introspection result has no types")?;
        let root = |k: &str| schema.get(k).map(|r| root_fields(types, r)).unwrap_or_default();
        let s = GraphqlSchema {
            query: root("queryType"),
            mutation: root("mutationType"),
            subscription: root("subscriptionType"),
        };
        if s.query.is_empty() && s.mutation.is_empty() {
            return Err("the introspection result names no query or mutation fields".into());
        }
        Ok(s)
    }

    /// The field, when the schema has it at that root.
    pub fn field(&self, kind: OpKind, name: &str) -> Option<&FieldInfo> {
        match kind {
            OpKind::Query => self.query.get(name),
            OpKind::Mutation => self.mutation.get(name),
            OpKind::Subscription => self.subscription.get(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_root_fields_and_descriptions() {
        let v: Value = serde_json::from_str(
            r#"{"data":{"__schema":{"queryType":{"name":"Query"},"mutationType":{"name":"Mutation"},"types":[
                {"name":"Query","fields":[{"name":"me","description":null}]},
                {"name":"Mutation","fields":[{"name":"volumeDelete","description":"Delete a persistent volume in a project"}]}]}}}"#,
        )
        .unwrap();
        let s = GraphqlSchema::from_json(&v).unwrap();
        assert!(s.field(OpKind::Query, "me").is_some());
        assert!(s.field(OpKind::Mutation, "me").is_none());
        assert_eq!(
            s.field(OpKind::Mutation, "volumeDelete")
                .unwrap()
                .description
                .as_deref(),
            Some("Delete a persistent volume in a project")
        );
        assert!(GraphqlSchema::from_json(&serde_json::json!({"x": 1})).is_err());
    }
}
