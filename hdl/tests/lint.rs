//! `verilator --lint-only -Wall` over the committed RTL, with the waivers in
//! bitstreams/rtl/lint_waivers.vlt (each one explained there).

use std::path::Path;
use std::process::Command;

use tollgate_hdl::rtl::designs;

#[test]
fn rtl_is_lint_clean_under_wall() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bitstreams");
    let waivers = root.join("rtl/lint_waivers.vlt");
    for design in designs() {
        for m in &design.modules {
            let out = Command::new("verilator")
                .args(["--lint-only", "-Wall", "--top-module", m.top])
                .arg(&waivers)
                .arg(root.join("rtl").join(m.file))
                .output()
                .expect("run verilator");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && !stderr.contains("%Warning"),
                "lint of {}:\n{}",
                m.file,
                stderr.chars().take(6000).collect::<String>()
            );
        }
    }
}
