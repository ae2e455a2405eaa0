//! `airlock init [--dir DIR]`: a commented starter config and policy, in a private directory.

use std::path::Path;

use airlock_config::{user_config_dir, STARTER_CONFIG, STARTER_POLICY_HEADER};
use airlock_policy::DEFAULT_POLICY;
use anyhow::{anyhow, bail, Context, Result};

use crate::cli::InitArgs;

pub fn write_instance(dir: &Path, force: bool) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
        .with_context(|| format!("cannot secure {}", dir.display()))?;
    let files = [
        ("airlock.toml", STARTER_CONFIG.to_owned()),
        ("policy.cedar", format!("{STARTER_POLICY_HEADER}{DEFAULT_POLICY}")),
    ];
    for (name, _) in &files {
        let p = dir.join(name);
        if p.exists() && !force {
            bail!("{} already exists; pass --force to overwrite it", p.display());
        }
    }
    for (name, text) in files {
        crate::context::write_private(&dir.join(name), &text)?;
    }
    Ok(())
}

pub fn run(args: InitArgs) -> Result<()> {
    let dir = match args.dir {
        Some(d) => d,
        None => user_config_dir().ok_or_else(|| anyhow!("HOME is not set; pass --dir DIR"))?,
    };
    write_instance(&dir, args.force)?;
    let config = dir.join("airlock.toml");
    println!("Wrote {} and {}.", config.display(), dir.join("policy.cedar").display());
    println!(
        "Everything this instance keeps (state, later the vault) lives in {}.",
        dir.display()
    );
    println!("Next:");
    println!("  export AIRLOCK_CONFIG={}", config.display());
    println!("  airlock serve &");
    println!("  airlock token create --agent \"$USER\" --operator   # your approval token");
    println!("  airlock install claude-code                        # or cursor, codex, gemini");
    Ok(())
}
