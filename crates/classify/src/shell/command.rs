//! One simple command, after the walker has expanded its words: unwrap wrappers, follow nested
//! shells and interpreters, hand database and HTTP clients to their classifiers, and apply the rule
//! packs to everything else.

use super::interp_cmd;
use super::stream::{base64_decode, hex_decode};
use super::Stream;
use crate::arg::Arg;
use crate::ctx::Ctx;
use crate::interp::Lang;
use crate::packs::{packs, Wrapper};
use crate::selfprotect::names_airlock;
use crate::{clients, http, Risk, TargetKind};

/// Shells that take `-c STRING`, a script file, or commands on stdin.
const SHELLS: [&str; 9] = ["sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox"];

/// Programs that stop processes or services: pointed at Airlock they switch it off.
const PROCESS_CONTROL: [&str; 9] = [
    "kill",
    "pkill",
    "killall",
    "systemctl",
    "service",
    "launchctl",
    "supervisorctl",
    "pm2",
    "sv",
];
const STOPPING_VERBS: [&str; 12] = [
    "stop", "kill", "disable", "mask", "restart", "unload", "bootout", "remove", "rm", "delete", "down", "reload",
];

/// Environment variables that say where a client connects.
const ENV_TARGETS: [(&str, TargetKind); 10] = [
    ("PGHOST", TargetKind::Host),
    ("PGDATABASE", TargetKind::Database),
    ("PGPORT", TargetKind::Port),
    ("MYSQL_HOST", TargetKind::Host),
    ("AWS_PROFILE", TargetKind::Profile),
    ("AWS_REGION", TargetKind::Region),
    ("AWS_DEFAULT_REGION", TargetKind::Region),
    ("CLOUDSDK_CORE_PROJECT", TargetKind::Project),
    ("RAILWAY_ENVIRONMENT", TargetKind::Environment),
    ("KUBECONTEXT", TargetKind::Context),
];

pub(crate) fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

/// Runs one command; returns what it writes to stdout.
pub(super) fn run(words: &[Arg], assignments: &[(String, Arg)], stdin: Stream, ctx: &mut Ctx<'_>) -> Stream {
    let summary = Arg::join(words);
    let program = &words[0];
    let args = &words[1..];
    if program.dynamic {
        // `${RM:-rm} -rf x`: the default is what runs unless the variable is set, so it stands.
        if let Some(default) = parameter_default(&program.text) {
            let mut w = words.to_vec();
            w[0] = Arg::literal(default);
            ctx.partially_known(&summary, "the program to run", |ctx| {
                run(&w, assignments, stdin, ctx);
            });
            return Stream::Opaque;
        }
        ctx.op(
            Risk::Unknown,
            &summary,
            format!("the program to run ({}) is only known at run time", program.text),
        );
        return Stream::Opaque;
    }
    if ctx.functions.contains(&program.text) {
        ctx.op(
            Risk::Read,
            &summary,
            format!("calls the shell function {}, judged where it is defined", program.text),
        );
        return Stream::Opaque;
    }
    // `set -- git reset --hard; "$@"`: the positional parameters, as set earlier in the line.
    if program.text == "set" && args.first().is_some_and(|a| a.text == "--") {
        let params: Vec<&str> = args[1..].iter().map(|a| a.text.as_str()).collect();
        ctx.vars.insert("@".to_owned(), params.join(" "));
        ctx.op(Risk::Read, &summary, "sets the positional parameters");
        return Stream::Terminal;
    }
    if program.glob {
        return glob_program(words, assignments, stdin, &summary, ctx);
    }
    if let Some(real) = real_program(program, ctx) {
        ctx.op(Risk::Read, &summary, format!("{} is the program {real}", program.text));
        let mut renamed = words.to_vec();
        renamed[0] = Arg::literal(real);
        return run(&renamed, assignments, stdin, ctx);
    }
    for (name, value) in assignments {
        record_env_target(name, &value.text, ctx);
    }
    ctx.env = assignments.to_vec();
    super::config_code::environment(assignments, &summary, ctx);
    if let Some(why) = crate::safeguard::in_args(args) {
        ctx.op(Risk::Destructive, &summary, why);
    }
    for a in args {
        if a.text.contains("://") {
            http::url_targets(&a.text, ctx);
        }
    }
    let name = basename(&program.text);
    if process_control(name, args, &summary, ctx) || airlock_admin(name, args, &summary, ctx) {
        return Stream::Opaque;
    }
    match name {
        "cd" | "pushd" => {
            change_dir(args, ctx);
            ctx.op(Risk::Read, &summary, "changes directory");
            return Stream::Terminal;
        }
        "eval" => {
            eval(args, &summary, ctx);
            return Stream::Opaque;
        }
        "source" | "." => {
            match args.first() {
                Some(a) => run_script(a, None, &summary, ctx),
                None => ctx.op(Risk::Read, &summary, "sources nothing"),
            }
            return Stream::Opaque;
        }
        _ => {}
    }
    if let Some(out) = unwrap(name, args, &stdin, &summary, ctx) {
        return out;
    }
    if SHELLS.contains(&name) {
        shell(name, args, stdin, &summary, ctx);
        return Stream::Opaque;
    }
    if let Some(lang) = Lang::of_program(name) {
        interp_cmd::run(lang, args, stdin, &summary, ctx);
        return Stream::Opaque;
    }
    if clients::run(name, args, &stdin, &summary, ctx) {
        return Stream::Opaque;
    }
    if http::run_client(name, args, &summary, ctx) {
        return http::client_stdout(name, args);
    }
    if name == "find" {
        find(args, &summary, ctx);
        return Stream::Opaque;
    }
    if let Some(why) = super::help::only_prints(args) {
        ctx.op(Risk::Read, &summary, format!("{name}: {why}"));
        return Stream::Opaque;
    }
    if super::tasks::run(name, args, &summary, ctx) || super::consoles::run(name, args, &summary, ctx) {
        return Stream::Opaque;
    }
    if name == "git" && super::config_code::git(args, &summary, ctx) {
        return Stream::Opaque;
    }
    if name == "sed" {
        super::written::sed_in_place(args, ctx);
    }
    if matches!(name, "terraform" | "tofu") && terraform_saved_destroy(args, &summary, ctx) {
        return Stream::Opaque;
    }
    if matches!(name, "pwsh" | "powershell" | "powershell.exe" | "pwsh.exe") {
        super::powershell::run(args, &summary, ctx);
        return Stream::Opaque;
    }
    record_program_copy(name, args, ctx);
    let out = stdout_of(name, args, &stdin);
    if pack_tool(name, args, &summary, ctx) {
        return out;
    }
    if program.text.contains('/') {
        run_script(program, None, &summary, ctx);
        return Stream::Opaque;
    }
    unknown_program(name, args, &summary, ctx);
    Stream::Opaque
}

/// The literal default of `${NAME:-word}` / `${NAME-word}`, if that is all the word is.
fn parameter_default(text: &str) -> Option<String> {
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    let (name, default) = inner.split_once(":-").or_else(|| inner.split_once('-'))?;
    let simple = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
    (simple(name) && simple(default) && !default.contains("${")).then(|| default.to_owned())
}

/// Whether a program is one Airlock has a rule for (a pack, a shell, an interpreter…).
fn known_program(name: &str) -> bool {
    SHELLS.contains(&name)
        || Lang::of_program(name).is_some()
        || packs().is_ok_and(|p| p.tool(name).is_some() || !p.wrappers(name).is_empty())
        || matches!(
            name,
            "curl" | "wget" | "psql" | "mysql" | "sqlite3" | "redis-cli" | "mongosh" | "find" | "eval"
        )
}

/// The program a path really runs when it is a copy of or a link to a known one: made earlier in
/// this command line, or as the World sees it (symlink target, byte-identical copy).
fn real_program(program: &Arg, ctx: &Ctx<'_>) -> Option<String> {
    if !program.text.contains('/') || known_program(basename(&program.text)) {
        return None;
    }
    let resolved = ctx.resolve_path(&program.text);
    ctx.program_aliases
        .get(&resolved)
        .cloned()
        .or_else(|| ctx.world.program_identity(std::path::Path::new(&resolved)))
        .filter(|real| known_program(real))
}

/// A program named by a pattern (`/bin/r?`, `/usr/bin/[r]m`): every known program it could be is
/// judged; one that matches none is unknown.
fn glob_program(
    words: &[Arg],
    assignments: &[(String, Arg)],
    stdin: Stream,
    summary: &str,
    ctx: &mut Ctx<'_>,
) -> Stream {
    let pattern = basename(&words[0].text).to_owned();
    let mut names: Vec<String> = packs()
        .map(|p| p.tool_names().map(str::to_owned).collect())
        .unwrap_or_default();
    names.extend(SHELLS.iter().map(|s| (*s).to_owned()));
    names.retain(|n| super::expansion::glob_matches(&pattern, n));
    names.sort();
    if names.is_empty() {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("the program's name is a pattern ({pattern}) that matches no program Airlock knows"),
        );
        return Stream::Opaque;
    }
    for n in names.iter().take(8) {
        ctx.op(Risk::Read, summary, format!("the pattern {pattern} can name {n}"));
        let mut w = words.to_vec();
        w[0] = Arg::literal(n.clone());
        run(&w, assignments, stdin.clone(), ctx);
    }
    Stream::Opaque
}

/// `terraform plan -destroy -out=F` then `terraform apply F`: the saved plan is a destroy plan.
/// Returns true when the apply of such a plan was judged.
fn terraform_saved_destroy(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let sub = args.iter().find(|a| !a.text.starts_with('-')).map(|a| a.text.as_str());
    match sub {
        Some("plan") => {
            let destroy = args.iter().any(|a| a.text == "-destroy" || a.text == "--destroy");
            let out = args
                .iter()
                .find_map(|a| a.text.strip_prefix("-out=").or_else(|| a.text.strip_prefix("--out=")));
            if let Some(out) = out {
                let path = ctx.resolve_path(out);
                ctx.written
                    .insert(path, destroy.then(|| "terraform destroy plan".to_owned()));
            }
            false
        }
        Some("apply") => {
            let plan = args.iter().filter(|a| !a.text.starts_with('-')).nth(1);
            let Some(plan) = plan else { return false };
            let path = ctx.resolve_path(&plan.text);
            if ctx.written.get(&path) == Some(&Some("terraform destroy plan".to_owned())) {
                ctx.op(
                    Risk::Destructive,
                    summary,
                    format!("applies {path}, a destroy plan made earlier in this command line: every resource goes"),
                );
                return true;
            }
            false
        }
        _ => false,
    }
}

/// `cp /bin/rm ./cleanup`, `ln -s /usr/bin/rm /tmp/tidy`: the copy runs as that program.
fn record_program_copy(name: &str, args: &[Arg], ctx: &mut Ctx<'_>) {
    if !matches!(name, "cp" | "ln" | "install" | "mv") {
        return;
    }
    let positionals: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
    let [src, .., dest] = positionals.as_slice() else {
        return;
    };
    let program = basename(&src.text).to_owned();
    if src.dynamic || !known_program(&program) {
        return;
    }
    let mut target = ctx.resolve_path(&dest.text);
    if dest.text.ends_with('/') || ctx.world.path_state(std::path::Path::new(&target)) == crate::PathState::Dir {
        target = format!("{target}/{program}");
    }
    ctx.program_aliases.insert(target, program);
}

fn record_env_target(name: &str, value: &str, ctx: &mut Ctx<'_>) {
    if let Some((_, k)) = ENV_TARGETS.iter().find(|(n, _)| *n == name) {
        ctx.target(*k, value);
    } else if value.contains("://") {
        http::url_targets(value, ctx);
    }
}

fn change_dir(args: &[Arg], ctx: &mut Ctx<'_>) {
    let dir = args.iter().find(|a| !a.text.starts_with('-') || a.text == "-");
    match dir {
        None => ctx.cwd = ctx.home.clone(),
        Some(d) if d.dynamic || d.text == "-" => ctx.cwd = None,
        Some(d) => {
            let resolved = ctx.resolve_path(&d.text);
            ctx.cwd = Some(resolved.into());
        }
    }
}

fn eval(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) {
    let code = args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
    let dynamic = args.iter().any(|a| a.dynamic);
    nested_line(&code, dynamic, "eval", summary, ctx);
}

/// A command line run by another (`eval`, `bash -c`, `ssh host CMD`). When part of it is only known
/// at run time, what is known still counts: `bash -c "rm -rf $DIR"` deletes, whatever DIR is.
fn nested_line(line: &str, dynamic: bool, name: &str, summary: &str, ctx: &mut Ctx<'_>) {
    if dynamic {
        ctx.partially_known(summary, &format!("the command that {name} runs"), |ctx| {
            super::classify_nested(line, name, ctx);
        });
    } else {
        super::classify_nested(line, name, ctx);
    }
}

fn process_control(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    if !PROCESS_CONTROL.contains(&name) || !args.iter().any(|a| names_airlock(&a.text)) {
        return false;
    }
    let always_stops = matches!(name, "kill" | "pkill" | "killall");
    let stops = always_stops || args.iter().any(|a| STOPPING_VERBS.contains(&a.text.as_str()));
    if !stops {
        return false;
    }
    for a in args.iter().filter(|a| !a.text.starts_with('-')) {
        ctx.target(TargetKind::Process, a.text.clone());
    }
    ctx.op(
        Risk::Destructive,
        summary,
        "stops Airlock itself; with Airlock down nothing would be checked",
    );
    true
}

/// Airlock's own administration (`airlock approve`, `airlock token create`, `airlock service
/// stop`…) is for humans: an agent running it would approve its own actions, mint itself
/// credentials or stop its guard. Only the subcommands that look are the agent's, and `exec`, which
/// asks the server to run a provider CLI that the server judges itself before running it; any other
/// word, including one a later version adds, counts as administration.
fn airlock_admin(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    const AGENT_SAFE: [&str; 11] = [
        "classify",
        "pending",
        "log",
        "policy",
        "hook",
        "snapshots",
        "doctor",
        "grants",
        "demo",
        "help",
        "exec",
    ];
    let sub = args.iter().find(|a| !a.text.starts_with('-')).map(|a| a.text.as_str());
    if name != "airlock" || sub.is_none_or(|s| AGENT_SAFE.contains(&s)) {
        return false;
    }
    ctx.target(TargetKind::Process, "airlock");
    ctx.op(
        Risk::Destructive,
        summary,
        format!(
            "`airlock {}` administers Airlock itself; only a human may run it",
            sub.unwrap_or_default()
        ),
    );
    true
}

/// Follows a wrapper (`sudo`, `timeout 5`, `ssh HOST`, `docker exec C`…) to the command it runs.
/// Returns None when `name` is not a wrapper.
fn unwrap(name: &str, args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) -> Option<Stream> {
    let packs = packs().ok()?;
    let w = packs
        .wrappers(name)
        .iter()
        .find(|w| w.sub.len() <= args.len() && w.sub.iter().zip(args).all(|(s, a)| *s == a.text))?;
    let rest = &args[w.sub.len()..];
    if !ctx.enter(name) {
        return Some(Stream::Opaque);
    }
    let out = apply_wrapper(name, w, rest, stdin, summary, ctx);
    ctx.leave();
    Some(out)
}

fn apply_wrapper(name: &str, w: &Wrapper, args: &[Arg], stdin: &Stream, summary: &str, ctx: &mut Ctx<'_>) -> Stream {
    let mut i = 0;
    // A flag whose value is a command line (`su -c CMD`) decides everything, wherever it stands.
    for (j, a) in args.iter().enumerate() {
        let value = w
            .shell_flags
            .iter()
            .find_map(|f| if a.text == *f { args.get(j + 1) } else { None });
        if let Some(v) = value {
            nested_text(v, name, summary, ctx);
            return Stream::Opaque;
        }
    }
    // Options may come before and between the skipped positionals (`kubectl exec -it POD -n ns --
    // cmd`); the wrapped command starts at the first positional after them, or after `--`.
    let mut skipped: Vec<&Arg> = Vec::new();
    let mut placeholder: Option<String> = None;
    let mut env: Vec<(String, Arg)> = Vec::new();
    while i < args.len() {
        let a = &args[i];
        let t = a.text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if w.assignments && is_assignment(t) {
            let (k, v) = t.split_once('=').unwrap_or((t, ""));
            record_env_target(k, v, ctx);
            env.push((
                k.to_owned(),
                Arg {
                    text: v.to_owned(),
                    ..a.clone()
                },
            ));
            i += 1;
            continue;
        }
        if !t.starts_with('-') || t == "-" || a.dynamic {
            if skipped.len() < w.skip {
                skipped.push(a);
                i += 1;
                continue;
            }
            break;
        }
        // xargs -I{} / -i: the placeholder stands for input read at run time.
        if w.stdin_args {
            if let Some(p) = t.strip_prefix("-I").filter(|p| !p.is_empty()) {
                placeholder = Some(p.to_owned());
            } else if t == "-I" {
                placeholder = args.get(i + 1).map(|v| v.text.clone());
            } else if t == "-i" || t.starts_with("--replace") {
                placeholder = Some(t.split_once('=').map_or("{}", |(_, v)| v).to_owned());
            }
        }
        if w.read_flags.iter().any(|f| f == t) {
            ctx.op(Risk::Read, summary, format!("{name} {t} only looks something up"));
            // `command -v rm` prints where rm is: a path that runs rm.
            return match args.get(i + 1) {
                Some(p) if name == "command" && t == "-v" && !p.dynamic => {
                    Stream::Literal(format!("/usr/bin/{}\n", p.text))
                }
                _ => Stream::Opaque,
            };
        }
        let flag = t.split_once('=').map_or(t, |(f, _)| f);
        if w.mount_flags.iter().any(|f| f == flag) {
            let value = t
                .split_once('=')
                .map(|(_, v)| v.to_owned())
                .or_else(|| args.get(i + 1).map(|v| v.text.clone()));
            mount_target(value.as_deref().unwrap_or_default(), summary, ctx);
        }
        let takes_value = w.value_flags.iter().any(|f| f == t)
            || (!t.contains('=') && crate::options::fig_takes_value(name, &w.sub, t));
        if takes_value {
            if let (Some(k), Some(v)) = (w.target_flags.get(t), args.get(i + 1)) {
                ctx.target(*k, v.text.clone());
            }
            i += 2;
        } else {
            if let Some((flag, v)) = t.split_once('=') {
                if let Some(k) = w.target_flags.get(flag) {
                    ctx.target(*k, v);
                }
            }
            i += 1;
        }
    }
    let mut rest = args.get(i..).unwrap_or_default();
    // Positionals still owed to the wrapper come first when no option preceded them.
    while skipped.len() < w.skip && !rest.is_empty() {
        skipped.push(&rest[0]);
        rest = &rest[1..];
    }
    // An image whose entrypoint is a CLI (`amazon/aws-cli s3 rb …` runs `aws s3 rb …`).
    let entry: Option<&str> = (w.skip_kind == Some(TargetKind::Image))
        .then(|| skipped.first().and_then(|img| image_entrypoint(&img.text)))
        .flatten();
    for s in skipped {
        if let Some(k) = w.skip_kind {
            let value = if k == TargetKind::Host {
                s.text.rsplit('@').next().unwrap_or_default().to_owned()
            } else {
                s.text.clone()
            };
            ctx.target(k, value);
        }
    }
    if rest.first().is_some_and(|a| a.text == "--") {
        rest = &rest[1..];
    }
    if let Some(program) = entry.filter(|_| !rest.is_empty()) {
        let words: Vec<Arg> = std::iter::once(Arg::literal(program))
            .chain(rest.iter().cloned())
            .collect();
        return run(&words, &env, Stream::Terminal, ctx);
    }
    let marked: Vec<Arg>;
    if let Some(p) = placeholder.filter(|p| !p.is_empty()) {
        marked = rest
            .iter()
            .map(|a| {
                if a.text.contains(&p) {
                    Arg {
                        dynamic: true,
                        ..a.clone()
                    }
                } else {
                    a.clone()
                }
            })
            .collect();
        rest = &marked;
    }
    if rest.is_empty() {
        if w.shell_mode {
            // `ssh host < script.sh`: the remote shell runs whatever arrives on stdin.
            shell_stdin(stdin.clone(), name, summary, ctx);
        } else {
            if w.skip > 0 {
                ctx.op(
                    Risk::Write,
                    summary,
                    format!("{name} runs its target's default command (a container's entrypoint)"),
                );
            } else {
                ctx.op(Risk::Read, summary, format!("{name} runs no command here"));
            }
        }
        return Stream::Opaque;
    }
    if w.shell_mode {
        let line = rest.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" ");
        nested_line(&line, rest.iter().any(|a| a.dynamic), name, summary, ctx);
        return Stream::Opaque;
    }
    if w.stdin_args {
        ctx.op(
            Risk::Read,
            summary,
            format!("{name} passes arguments read from its input to the command"),
        );
    }
    run(
        rest,
        &env,
        if w.stdin_args { Stream::Terminal } else { stdin.clone() },
        ctx,
    )
}

/// A host path mounted into a container (`-v /home/me:/h`, `--mount type=bind,source=/x,…`): what
/// the command inside does to the mount, it does to the host.
fn mount_target(value: &str, summary: &str, ctx: &mut Ctx<'_>) {
    let host = value
        .split(',')
        .find_map(|kv| kv.strip_prefix("source=").or_else(|| kv.strip_prefix("src=")))
        .unwrap_or_else(|| value.split(':').next().unwrap_or_default());
    if host.starts_with(['/', '.', '~', '$']) {
        ctx.path_target(host, Risk::Write, summary);
    } else if !host.is_empty() {
        ctx.target(TargetKind::Volume, host);
    }
}

/// Images whose entrypoint is a command-line tool: their arguments are that tool's.
fn image_entrypoint(image: &str) -> Option<&'static str> {
    let name = image.split(['@', ':']).next().unwrap_or(image);
    let name = name
        .rsplit_once('/')
        .map_or(name, |(owner, n)| if owner.contains('.') { n } else { name });
    const ENTRYPOINTS: [(&str, &str); 12] = [
        ("amazon/aws-cli", "aws"),
        ("hashicorp/terraform", "terraform"),
        ("bitnami/kubectl", "kubectl"),
        ("alpine/helm", "helm"),
        ("mcr.microsoft.com/azure-cli", "az"),
        ("google/cloud-sdk", "gcloud"),
        ("minio/mc", "mc"),
        ("rclone/rclone", "rclone"),
        ("restic/restic", "restic"),
        ("flyway/flyway", "flyway"),
        ("liquibase/liquibase", "liquibase"),
        ("migrate/migrate", "migrate"),
    ];
    ENTRYPOINTS
        .iter()
        .find(|(i, _)| *i == name || i.ends_with(&format!("/{name}")))
        .map(|(_, p)| *p)
}

fn is_assignment(t: &str) -> bool {
    match t.split_once('=') {
        Some((k, _)) => {
            !k.is_empty()
                && !k.starts_with(|c: char| c.is_ascii_digit())
                && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// A shell command line given as one argument (`bash -c STR`, `su -c STR`).
fn nested_text(v: &Arg, name: &str, summary: &str, ctx: &mut Ctx<'_>) {
    nested_line(&v.text, v.dynamic, name, summary, ctx);
}

fn shell(name: &str, args: &[Arg], stdin: Stream, summary: &str, ctx: &mut Ctx<'_>) {
    let mut args = args;
    if name == "busybox" {
        match args.first() {
            Some(a) if SHELLS.contains(&a.text.as_str()) => args = &args[1..],
            Some(_) => {
                run(args, &[], stdin, ctx);
                return;
            }
            None => {
                ctx.op(Risk::Read, summary, "busybox lists its applets");
                return;
            }
        }
    }
    let mut i = 0;
    while i < args.len() {
        let t = args[i].text.as_str();
        if t == "--" {
            i += 1;
            break;
        }
        if t.starts_with("--") {
            // bash long options (--norc, --login…) take no value, except these.
            if matches!(t, "--rcfile" | "--init-file") {
                i += 1;
            }
            i += 1;
            continue;
        }
        if let Some(cluster) = t.strip_prefix('-').or_else(|| t.strip_prefix('+')) {
            if cluster.contains('s') && t.starts_with('-') && !cluster.contains('c') {
                // `sh -s -- ARGS`: commands come from stdin; ARGS are positional parameters.
                shell_stdin(stdin, name, summary, ctx);
                return;
            }
            if cluster.contains('c') && t.starts_with('-') {
                match args.get(i + 1) {
                    Some(v) => nested_text(v, name, summary, ctx),
                    None => ctx.op(Risk::Unknown, summary, format!("{name} -c without a command")),
                }
                return;
            }
            if cluster.contains('o') || cluster.contains('O') {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    match args.get(i) {
        Some(script) => run_script(script, Some(ScriptLanguage::Shell), summary, ctx),
        None => shell_stdin(stdin, name, summary, ctx),
    }
}

use crate::script::ScriptLanguage;

/// A shell that reads its commands from stdin.
fn shell_stdin(stdin: Stream, name: &str, summary: &str, ctx: &mut Ctx<'_>) {
    super::stream::feed(
        &stdin,
        name,
        ScriptLanguage::Shell,
        summary,
        ctx,
        |text, ctx| super::classify_with_stdin(text, Stream::Terminal, ctx),
        |ctx| ctx.op(Risk::Write, summary, format!("starts an interactive {name}")),
    );
}

/// Runs a script file: judged by its content when the caller can read it, else reported by name.
pub(super) fn run_script(script: &Arg, lang: Option<ScriptLanguage>, summary: &str, ctx: &mut Ctx<'_>) {
    if script.dynamic {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("runs a script whose path ({}) is only known at run time", script.text),
        );
        return;
    }
    if script.text.starts_with("/dev/fd/") || script.text == "/dev/stdin" {
        ctx.op(
            Risk::Unknown,
            summary,
            "runs a script produced at run time (a process substitution or stdin), which cannot be checked beforehand",
        );
        return;
    }
    let path = ctx.resolve_path(&script.text);
    ctx.target(TargetKind::Script, path.clone());
    // Written earlier in this command line: judged by what it will contain by then.
    let content = match ctx.written.get(&path) {
        Some(Some(text)) => Some(text.clone()),
        Some(None) => {
            ctx.op(
                Risk::Unknown,
                summary,
                format!("runs {path}, which this command line changes first in a way Airlock cannot follow"),
            );
            return;
        }
        None => ctx.world.read_script(std::path::Path::new(&path)),
    };
    match content {
        Some(text) if ctx.enter("script") => {
            let lang = lang.unwrap_or_else(|| ScriptLanguage::detect(&path, &text));
            let before = ctx.found.risk();
            crate::script::classify_into(&text, lang, ctx);
            ctx.leave();
            if ctx.found.risk() == before {
                ctx.op(Risk::Read, summary, format!("runs the script {path}"));
            }
        }
        Some(_) => {}
        // A script that is there but cannot be read could do anything; one the World does not
        // show (no such file, or no World) is judged as the bounded write running it usually is.
        None if ctx.world.path_state(std::path::Path::new(&path)) == crate::PathState::File => ctx.op(
            Risk::Unknown,
            summary,
            format!("runs the script {path}, which exists but could not be read: what it does is not known"),
        ),
        None => ctx.op(
            Risk::Write,
            summary,
            format!("runs the script {path}; its content was not checked, so it counts as a bounded write"),
        ),
    }
}

fn find(args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) {
    let mut roots: Vec<&Arg> = Vec::new();
    let mut i = 0;
    // Leading options (-H, -L, -P, -O3, -D debug) come before the starting points.
    while i < args.len() && matches!(args[i].text.as_str(), "-H" | "-L" | "-P") {
        i += 1;
    }
    while i < args.len() {
        let t = args[i].text.as_str();
        if t.starts_with('-') || t == "(" || t == "!" {
            break;
        }
        roots.push(&args[i]);
        i += 1;
    }
    let root_paths: Vec<String> = if roots.is_empty() {
        vec![ctx.resolve_path(".")]
    } else {
        roots.iter().map(|r| ctx.resolve_path(&r.text)).collect()
    };
    let mut acted = false;
    // `find . -name __pycache__ -exec rm -rf {} +`: what is deleted is what the names match.
    let names: Vec<&str> = args
        .windows(2)
        .filter(|w| matches!(w[0].text.as_str(), "-name" | "-iname"))
        .map(|w| w[1].text.as_str())
        .collect();
    let restorable: Option<Vec<String>> = if names.is_empty() {
        None
    } else {
        root_paths
            .iter()
            .flat_map(|r| names.iter().map(move |n| format!("{r}/{n}")))
            .map(|p| crate::regen::restorable(&p, ctx))
            .collect()
    };
    while i < args.len() {
        let t = args[i].text.as_str();
        let deletes_inside = t == "-delete"
            || (matches!(t, "-exec" | "-execdir")
                && args
                    .get(i + 1)
                    .is_some_and(|a| matches!(basename(&a.text), "rm" | "rmdir" | "unlink")));
        if let (true, Some(why)) = (deletes_inside, &restorable) {
            for w in why {
                ctx.op(Risk::Write, summary, format!("find deletes what it matches: {w}"));
            }
            acted = true;
            if t != "-delete" {
                i = args[i..]
                    .iter()
                    .position(|a| a.text == ";" || a.text == "+")
                    .map_or(args.len(), |p| i + p);
            }
            i += 1;
            continue;
        }
        match t {
            "-delete" => {
                for r in &root_paths {
                    ctx.path_target(r, Risk::Destructive, summary);
                }
                ctx.op(Risk::Destructive, summary, "find -delete deletes every file it matches");
                acted = true;
            }
            "-exec" | "-execdir" | "-ok" | "-okdir" => {
                let end = args[i + 1..]
                    .iter()
                    .position(|a| a.text == ";" || a.text == "+")
                    .map_or(args.len(), |p| i + 1 + p);
                let inner: Vec<Arg> = args[i + 1..end]
                    .iter()
                    .map(|a| {
                        if a.text == "{}" {
                            Arg {
                                text: "{}".into(),
                                dynamic: true,
                                glob: false,
                                split: false,
                                brace: false,
                            }
                        } else {
                            a.clone()
                        }
                    })
                    .collect();
                if !inner.is_empty() && ctx.enter("find -exec") {
                    let before = ctx.found.targets().len();
                    run(&inner, &[], Stream::Terminal, ctx);
                    ctx.leave();
                    // What the inner command touches is what find matched under its roots.
                    if ctx.found.risk().is_some_and(|r| r != Risk::Read) && ctx.found.targets().len() >= before {
                        for r in &root_paths {
                            ctx.target(TargetKind::Path, r.clone());
                        }
                    }
                }
                acted = true;
                i = end;
            }
            "-fprint" | "-fprintf" | "-fls" | "-fprint0" => {
                if let Some(f) = args.get(i + 1) {
                    ctx.overwrite(&f.text, f.dynamic, summary);
                }
                acted = true;
            }
            _ => {}
        }
        i += 1;
    }
    if !acted {
        ctx.op(Risk::Read, summary, "find only lists files");
    }
}

/// What a pure data command writes to stdout, for following pipes into shells and clients.
fn stdout_of(name: &str, args: &[Arg], stdin: &Stream) -> Stream {
    let literal = |args: &[&Arg]| -> Option<String> {
        if args.iter().any(|a| a.dynamic) {
            None
        } else {
            Some(args.iter().map(|a| a.text.as_str()).collect::<Vec<_>>().join(" "))
        }
    };
    match name {
        "echo" => {
            let escapes = args
                .iter()
                .take_while(|a| a.text.starts_with('-'))
                .any(|a| a.text.contains('e'));
            let words: Vec<&Arg> = args
                .iter()
                .skip_while(|a| matches!(a.text.as_str(), "-n" | "-e" | "-E" | "-ne" | "-en"))
                .collect();
            match literal(&words) {
                Some(t) if escapes => Stream::Literal(super::words::ansi_c_unescape(&t)),
                Some(t) => Stream::Literal(format!("{t}\n")),
                None => Stream::Opaque,
            }
        }
        "printf" => {
            let words: Vec<&Arg> = args.iter().filter(|a| a.text != "--").collect();
            match words.split_first() {
                Some((fmt, rest)) if !fmt.dynamic => {
                    let fmt = super::words::ansi_c_unescape(&fmt.text);
                    match literal(rest) {
                        Some(r) if r.is_empty() => Stream::Literal(fmt),
                        Some(r) => Stream::Literal(fmt.replacen("%s", &r, 1)),
                        None => Stream::Opaque,
                    }
                }
                _ => Stream::Opaque,
            }
        }
        // Text transformed on its way to a shell: `rev <<< '…' | sh`, `tr a-z n-za-m <<< … | bash`.
        "rev" if args.is_empty() => match stdin {
            Stream::Literal(text) => Stream::Literal(
                text.lines()
                    .map(|l| l.chars().rev().collect::<String>() + "\n")
                    .collect(),
            ),
            _ => Stream::Opaque,
        },
        "tr" => match (stdin, args) {
            (Stream::Literal(text), [from, to]) if !from.dynamic && !to.dynamic => {
                super::expansion::translate(text, &from.text, &to.text).map_or(Stream::Opaque, Stream::Literal)
            }
            _ => Stream::Opaque,
        },
        "which" => match args.iter().find(|a| !a.text.starts_with('-')) {
            Some(p) if !p.dynamic => Stream::Literal(format!("/usr/bin/{}\n", p.text)),
            _ => Stream::Opaque,
        },
        "cat" => {
            let files: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
            match files.as_slice() {
                [] => stdin.clone(),
                [f] if !f.dynamic => Stream::File(f.text.clone()),
                _ => Stream::Opaque,
            }
        }
        "base64" | "xxd" | "basenc" => {
            let decoding = args.iter().any(|a| {
                matches!(a.text.as_str(), "-d" | "--decode" | "-D" | "-r" | "-rp" | "-pr")
                    || (a.text.starts_with('-') && !a.text.starts_with("--") && a.text.contains(['d', 'r']))
            });
            if !decoding {
                return Stream::Opaque;
            }
            let files: Vec<&Arg> = args.iter().filter(|a| !a.text.starts_with('-')).collect();
            if !files.is_empty() {
                return Stream::Opaque;
            }
            match stdin {
                Stream::Literal(text) => {
                    let bytes = if name == "xxd" {
                        hex_decode(text)
                    } else {
                        base64_decode(text)
                    };
                    match bytes.and_then(|b| String::from_utf8(b).ok()) {
                        Some(decoded) => Stream::Literal(decoded),
                        None => Stream::Opaque,
                    }
                }
                Stream::Download(url) => Stream::Download(url.clone()),
                _ => Stream::Opaque,
            }
        }
        _ => Stream::Opaque,
    }
}

/// Applies a rule pack. Returns false when no pack knows the program.
fn pack_tool(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) -> bool {
    let Some(packs) = ctx.packs(summary) else {
        return true;
    };
    let Some(tool) = packs.tool(name) else {
        return false;
    };
    // `file://PATH` parameters (aws, gcloud…) are that file's content: judged by it when the
    // World shows it.
    let resolved: Vec<Arg>;
    let args = if args.iter().any(|a| a.text.starts_with("file://")) {
        resolved = args
            .iter()
            .map(|a| match a.text.strip_prefix("file://") {
                Some(p) if !a.dynamic => {
                    let path = ctx.resolve_path(p);
                    match ctx.world.read_script(std::path::Path::new(&path)) {
                        Some(text) => Arg { text, ..a.clone() },
                        None => a.clone(),
                    }
                }
                _ => a.clone(),
            })
            .collect();
        &resolved[..]
    } else {
        args
    };
    let verdict = tool.evaluate(name, args);
    let mut risk = verdict.risk.unwrap_or(Risk::Write);
    let mut reasons = verdict.reasons.clone();
    // Deleting only what the toolchain rebuilds, the user's temp files, or what git restores
    // loses nothing.
    if risk == Risk::Destructive && verdict.only_deletes && !verdict.deleted.is_empty() {
        let why: Option<Vec<String>> = verdict
            .deleted
            .iter()
            .map(|p| crate::regen::restorable(p, ctx))
            .collect();
        if let Some(why) = why {
            risk = Risk::Write;
            reasons = why;
        }
    }
    for reason in &reasons {
        ctx.op(risk, summary, reason.clone());
    }
    if verdict.dynamic_subcommand && risk != Risk::Destructive {
        ctx.op(
            Risk::Unknown,
            summary,
            format!("the {name} subcommand is only known at run time"),
        );
    }
    // A copy only reads its sources: copying a protected file elsewhere leaves it as it is.
    let copies = matches!(name, "cp" | "rsync" | "scp" | "install");
    for (kind, value) in verdict.targets {
        if kind == TargetKind::Worktree {
            let dir = ctx.resolve_path(&value);
            ctx.target(kind, dir);
        } else if kind == TargetKind::Path {
            let read_only = copies && !verdict.overwrites.is_empty() && !verdict.overwrites.contains(&value);
            ctx.path_target(&value, if read_only { Risk::Read } else { risk }, summary);
        } else {
            ctx.target(kind, value);
        }
    }
    for path in verdict.overwrites {
        let dynamic = args.iter().any(|a| a.text == path && (a.dynamic || a.glob));
        ctx.overwrite(&path, dynamic, summary);
    }
    true
}

/// A program no pack knows: its subcommand words (the leading positionals that look like
/// commands, split at `-`, `_`, `:`, `.` and case changes) are checked against the verb lexicon.
fn unknown_program(name: &str, args: &[Arg], summary: &str, ctx: &mut Ctx<'_>) {
    let verbs: &[String] = packs().map(|p| p.subcommand_verbs.as_slice()).unwrap_or_default();
    let is_verb = |w: &str| {
        verbs.iter().any(|v| v.eq_ignore_ascii_case(w))
            || http::words(w).iter().any(|part| verbs.iter().any(|v| v == part))
    };
    let positional_verb = args
        .iter()
        .filter(|a| !a.text.starts_with('-') && !a.dynamic)
        .take(4)
        .take_while(|a| looks_like_subcommand(&a.text))
        .find(|a| is_verb(&a.text));
    let flag_verb = args
        .iter()
        .find(|a| a.text.starts_with("--") && a.text[2..].split(['-', '=']).next().is_some_and(&is_verb));
    match positional_verb.or(flag_verb) {
        Some(v) => ctx.op(
            Risk::Destructive,
            summary,
            format!(
                "{name} is not a program Airlock knows, and its argument {} asks it to delete or reset",
                v.text
            ),
        ),
        None => ctx.op(
            Risk::Write,
            summary,
            format!("{name} is not a program Airlock knows; it counts as a bounded write"),
        ),
    }
    for a in args
        .iter()
        .filter(|a| !a.text.starts_with('-') && looks_like_path(&a.text))
    {
        ctx.path_target(&a.text, Risk::Write, summary);
    }
}

/// A word in a subcommand position: letters, digits and `-_:.`, no path or URL, no value.
fn looks_like_subcommand(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 40
        && t.starts_with(|c: char| c.is_ascii_alphabetic())
        && t.chars().all(|c| c.is_ascii_alphanumeric() || "-_:.".contains(c))
        && !t.contains("..")
}

fn looks_like_path(t: &str) -> bool {
    (t.starts_with('/') || t.starts_with("./") || t.starts_with("../") || t.starts_with("~/")) && !t.contains("://")
}
