flags_macros::include_flags!(path = "tests/ui/fixtures/empty_registry.yaml");

fn main() {}
