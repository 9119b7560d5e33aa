flags_macros::include_flags!(path = "tests/ui/fixtures/upper_case_key.yaml");

fn main() {}
