//! The committed RTL and manifests are exactly what the generator produces.

use std::path::Path;

use tollgate_hdl::rtl::{designs, manifest};

#[test]
fn committed_rtl_is_generated() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitstreams");
    for design in designs() {
        let generated = manifest::generate(&design);
        if let Err(e) = generated.check(&root) {
            panic!("design {}: {e}", design.name);
        }
    }
}
