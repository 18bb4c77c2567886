//! Links the Lambda binary as a position-dependent executable on Linux (`-no-pie`).
//!
//! As a PIE, the dynamic loader had to apply ~31,000 relative relocations at every cold start:
//! it read 0.75 MB of relocation entries and copied 0.44 MB of pointer tables into private memory
//! before `main`, ~100 page faults (docs/PERFORMANCE.md). Linked at a fixed address, those tables
//! are read from the file as they are, only where touched. The price is that the binary's own code
//! is not placed at a random address (libraries, heap and stacks still are). The lint command and
//! the tests stay PIE.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "linux") {
        println!("cargo::rustc-link-arg-bin=cfn-logs-delivery=-no-pie");
    }
}
