flags_macros::include_flags!(path = "tests/ui/fixtures/many_errors.yaml");

fn main() {}
