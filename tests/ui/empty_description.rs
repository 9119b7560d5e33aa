flags_macros::include_flags!(path = "tests/ui/fixtures/empty_description.yaml");

fn main() {}
