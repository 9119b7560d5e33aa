flags_macros::include_flags!(path = "tests/ui/fixtures/bad_payload_key.yaml");

fn main() {}
