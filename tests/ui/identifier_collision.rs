flags_macros::include_flags!(path = "tests/ui/fixtures/identifier_collision.yaml");

fn main() {}
