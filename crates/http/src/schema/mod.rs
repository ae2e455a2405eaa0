//! A provider's own description of its API, from the resource's `schema` file: a GraphQL
//! introspection result or an OpenAPI document (JSON). With one configured, an operation the
//! schema does not know is `unknown` (fail closed), and known ones are judged by their names and
//! the provider's descriptions of them.

mod graphql;
mod openapi;

use std::path::Path;

pub use graphql::GraphqlSchema;
pub use openapi::{matches_template, OpenApi};

use crate::HttpError;

/// A loaded schema.
#[derive(Debug)]
pub enum Schema {
    Graphql(GraphqlSchema),
    OpenApi(OpenApi),
}

impl Schema {
    /// Reads a schema file, telling the two kinds apart by their content.
    pub fn load(path: &Path) -> Result<Schema, HttpError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| HttpError::Setup(format!("cannot read the schema {}: {e}", path.display())))?;
        Schema::parse(&text).map_err(|e| HttpError::Setup(format!("the schema {}: {e}", path.display())))
    }

    pub fn parse(text: &str) -> Result<Schema, String> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| format!("not JSON ({e}); schemas are introspection or OpenAPI JSON"))?;
        if v.get("openapi").is_some() || v.get("swagger").is_some() {
            return OpenApi::from_json(&v).map(Schema::OpenApi);
        }
        GraphqlSchema::from_json(&v).map(Schema::Graphql)
    }
}
