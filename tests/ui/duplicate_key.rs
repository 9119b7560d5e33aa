flags_macros::include_flags!(path = "tests/ui/fixtures/duplicate_key.yaml");

fn main() {}
