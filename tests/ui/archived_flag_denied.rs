// An archived flag keeps its type but is deprecated: under -D warnings its use fails.
#![deny(warnings)]

fn main() {
    let _ = flags::ReleaseBillingLegacyCheckout::KEY;
}
