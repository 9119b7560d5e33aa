// An archived flag still compiles (with a deprecation warning), so old uses point somewhere.
fn main() {
    let _ = flags::ReleaseBillingLegacyCheckout::KEY;
}
