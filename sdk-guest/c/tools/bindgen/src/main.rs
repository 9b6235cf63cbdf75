//! capsule-c-bindgen WIT_DIR OUT_DIR WORLD... — C bindings for each WORLD of the package in WIT_DIR,
//! exactly what `wit-bindgen c --world WORLD WIT_DIR --out-dir OUT_DIR` writes.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use wit_bindgen_core::Files;
use wit_parser::Resolve;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        bail!("usage: capsule-c-bindgen WIT_DIR OUT_DIR WORLD...");
    }
    let out = PathBuf::from(&args[1]);
    std::fs::create_dir_all(&out)?;
    for world_name in &args[2..] {
        let mut resolve = Resolve::default();
        let (pkg, _) = resolve.push_path(&args[0]).with_context(|| format!("reading {}", args[0]))?;
        let world = resolve.select_world(&[pkg], Some(world_name))?;
        let mut files = Files::default();
        wit_bindgen_c::Opts::default()
            .build()
            .generate(&mut resolve, world, &mut files)?;
        for (name, contents) in files.iter() {
            std::fs::write(out.join(name), contents).with_context(|| format!("writing {name}"))?;
            println!("{}", out.join(name).display());
        }
    }
    Ok(())
}
