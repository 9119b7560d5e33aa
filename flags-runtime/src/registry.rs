//! Metadata types and traits that generated flag code implements. (work in progress)
