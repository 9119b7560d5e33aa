flags_macros::include_flags!(path = "tests/ui/fixtures/expires_before_created.yaml");

fn main() {}
