flags_macros::include_flags!(path = "tests/ui/fixtures/bad_date.yaml");

fn main() {}
