flags_macros::include_flags!(path = "tests/ui/fixtures/syntax_error.yaml");

fn main() {}
