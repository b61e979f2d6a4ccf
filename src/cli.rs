//! The `switchyard` command line: argument definitions and what each command does.

use std::collections::HashSet;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use switchyard_dsl::DslPolicy;
use switchyard_dsl::ast::Literal;
use switchyard_engine::{Policy, RouterConfig, SearchBudget, Strategy};

use crate::plan_file::PlanDocument;
use crate::replay::replay;
use crate::scenario::Scenario;

/// switchyard: distributed order management. Routes orders to the locations that ship them
/// at the lowest cost the merchant's rules allow.
#[derive(Debug, Parser)]
#[command(name = "switchyard", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Route every order of a benchmark scenario in file order, reserving as it goes.
    Route(RouteArgs),
    /// Check policy files: print every error and warning; exit 1 if any file has errors.
    Check(CheckArgs),
    /// Run policy test files (`*.test.toml`): print pass/fail per case; exit 1 on any failure.
    Test(TestArgs),
    /// Work with Wasm routing plugins.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Run the HTTP service (`--demo`: seeded with a sample network, stock and policies).
    Serve(crate::serve::ServeArgs),
    /// Compare policies on a scenario: each replays it on its own stock, beside the greedy
    /// baseline; prints a side-by-side table and optionally writes an HTML report.
    Simulate(SimulateArgs),
}

/// Arguments of `switchyard simulate`.
#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// The scenario file (`switchyard-scenario/1`).
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// A policy to compare: a policy file, or a plugin (`.wasm`). Repeat for more; none: the
    /// scenario's built-in reference policy.
    #[arg(long = "policy", value_name = "POLICY")]
    pub policies: Vec<PathBuf>,
    /// Price every column's plans under this policy's cost model (a policy file or a plugin);
    /// default: the first policy compared. Each policy's own figure is shown beside.
    #[arg(long, value_name = "POLICY")]
    pub price_with: Option<PathBuf>,
    /// Add a column: the first policy with look-ahead pricing of scarce stock, each unit's
    /// opportunity cost (from a transportation LP of expected demand against stock) times
    /// WEIGHT added to its unit cost (docs/OPTIMIZER.md, "The stream"). Without it, a first
    /// policy that declares `look ahead { ... }` gets the column with its own settings.
    #[arg(long, value_name = "WEIGHT")]
    pub look_ahead: Option<f64>,
    /// Minutes of the scenario's time between look-ahead re-solves.
    #[arg(long, default_value_t = 60, value_name = "MINUTES")]
    pub look_ahead_every: u32,
    /// Hours of past orders the look-ahead demand is estimated from.
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    pub look_ahead_window: u32,
    /// Hours of future demand look-ahead prices.
    #[arg(long, default_value_t = 24, value_name = "HOURS")]
    pub look_ahead_horizon: u32,
    /// Look-ahead from the orders actually to come (a perfect forecast), for measurement.
    #[arg(long)]
    pub look_ahead_oracle: bool,
    /// Add a column: the first policy with release windows: each order may be re-planned for
    /// this many minutes after it is placed, and the unreleased orders are re-optimised
    /// together (docs/OPTIMIZER.md, "The stream"). With --look-ahead, also a column with both.
    #[arg(long, value_name = "MINUTES")]
    pub release_after: Option<u32>,
    /// Minutes of the scenario's time between re-optimisation passes (with --release-after).
    #[arg(long, default_value_t = 5, value_name = "MINUTES")]
    pub reoptimize_every: u32,
    /// Orders in the longest chain of exchanges a re-optimisation pass tries (2: pairs only;
    /// longer chains find more and take longer).
    #[arg(long, value_name = "N", requires = "release_after",
          default_value_t = switchyard_engine::ReoptimizeSettings::default().chain as u32,
          value_parser = clap::value_parser!(u32).range(2..=6))]
    pub chain: u32,
    /// Rounds of the price search with which the hourly full pass re-plans the whole pool
    /// before its local search (0: no re-plan; docs/OPTIMIZER.md, "The stream").
    #[arg(long, value_name = "N", requires = "release_after",
          default_value_t = switchyard_engine::reoptimize::REPLAN_ROUNDS as u32,
          value_parser = clap::value_parser!(u32).range(0..=switchyard_engine::reoptimize::MAX_REPLAN_ROUNDS as i64))]
    pub replan_rounds: u32,
    /// Also compute the clairvoyant bound (no routing of every order together, all known in
    /// advance, costs less under the price list: Lagrangian prices with every order routed
    /// exactly, and on streams of up to 5,000 orders the LP relaxation too) and how much of the
    /// gap to it each column closes.
    #[arg(long)]
    pub bound: bool,
    /// Rounds of routing spent on the Lagrangian bound (more: a tighter bound, slower).
    #[arg(long, default_value_t = crate::simulate::DEFAULT_BOUND_ROUNDS as u32, value_name = "N", requires = "bound",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub bound_rounds: u32,
    /// Write a self-contained HTML report (`index.html`) into this directory.
    #[arg(long, value_name = "DIR")]
    pub report: Option<PathBuf>,
    /// Locations listed in the table (busiest first).
    #[arg(long, default_value_t = 10)]
    pub locations: usize,
}

/// `switchyard plugin ...`.
#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Show a plugin's world, version, imports, exports and size, and whether this host accepts it.
    Inspect {
        /// The plugin file.
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
    },
    /// Run a plugin once on one order's request, as the service would, and print its answer
    /// with the fuel, memory and time it used and the lines it logged (JSON). With
    /// --max-fuel / --max-memory it exits non-zero when it used more, so a plugin's CI can gate
    /// on its budget.
    Run {
        /// The plugin file (Rust, JavaScript: any component of the `switchyard:routing` world).
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        /// The request, as `switchyard plugin request` writes it.
        #[arg(long, value_name = "FILE", required_unless_present = "scenario", conflicts_with = "scenario")]
        input: Option<PathBuf>,
        /// Build the request from this scenario (its starting stock and policy) ...
        #[arg(long, value_name = "FILE", requires = "order")]
        scenario: Option<PathBuf>,
        /// ... for this order.
        #[arg(long, value_name = "ID", requires = "scenario")]
        order: Option<String>,
        /// Fail when the run used more fuel (instructions) than this.
        #[arg(long, value_name = "N")]
        max_fuel: Option<u64>,
        /// Fail when the plugin's memory grew past this many bytes.
        #[arg(long, value_name = "BYTES")]
        max_memory: Option<u64>,
        /// The plugin's parameter values as a JSON object, over the request's `parameters`.
        #[arg(long, value_name = "FILE.json")]
        plugin_config: Option<PathBuf>,
        /// Set one parameter of the plugin: `name=value`, over the rest.
        #[arg(long = "param", value_name = "NAME=VALUE")]
        params: Vec<String>,
    },
    /// Write the request a plugin would receive for one order of a scenario, as JSON (against
    /// the scenario's starting stock, the candidates its policy sees).
    Request {
        /// The scenario.
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
        /// The order's id.
        #[arg(long, value_name = "ID")]
        order: String,
        /// Write it here instead of to standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Compile one plugin read from stdin into an artifact on stdout, within an address-space
    /// limit: the child process `switchyard serve` compiles uploads in.
    #[command(hide = true)]
    CompileWorker {
        /// Address space this process may use, bytes.
        #[arg(long)]
        max_memory: u64,
    },
}

/// Arguments of `switchyard test`.
#[derive(Debug, clap::Args)]
pub struct TestArgs {
    /// Test files to run.
    #[arg(required = true, value_name = "CASES")]
    pub files: Vec<PathBuf>,
    /// Run the cases against this Wasm routing plugin instead of each file's policy (the
    /// files' `params` are for their policies and are not used).
    #[arg(long, value_name = "FILE.wasm")]
    pub plugin: Option<PathBuf>,
}

/// Arguments of `switchyard check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Policy files to check.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// Which optimizer chooses plans.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StrategyArg {
    /// The exact optimizer (branch and bound), proves optimality within the budget.
    Optimal,
    /// The greedy baseline: cheapest single location that ships everything, else line by line.
    Greedy,
    /// Try every set of locations: slow, the reference the optimizer is tested against.
    Exhaustive,
}

/// Arguments of `switchyard route`.
#[derive(Debug, clap::Args)]
pub struct RouteArgs {
    /// The `switchyard-scenario/1` file to route.
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// Write the `switchyard-plan/1` result here (`-` for standard output).
    #[arg(long, value_name = "PLAN")]
    pub out: Option<PathBuf>,
    /// How plans are chosen.
    #[arg(long, value_enum, default_value = "optimal")]
    pub strategy: StrategyArg,
    /// Print why this order was routed as it was (repeatable).
    #[arg(long, value_name = "ORDER_ID")]
    pub explain: Vec<String>,
    /// Search nodes per order before the best plan found is returned unproved.
    #[arg(long, default_value_t = SearchBudget::default().max_nodes)]
    pub max_nodes: u64,
    /// Wall-clock limit per order in milliseconds (makes results timing-dependent).
    #[arg(long)]
    pub max_time_ms: Option<u64>,
    /// Route with this policy file instead of the scenario's built-in reference policy.
    #[arg(long, value_name = "POLICY", conflicts_with = "plugin")]
    pub policy: Option<PathBuf>,
    /// Route with this Wasm plugin (a component, or a core module built with the SDK).
    #[arg(long, value_name = "FILE.wasm")]
    pub plugin: Option<PathBuf>,
    /// Override a policy's or a plugin's parameter: `name=value` (`3`, `$2.50`, `14d`,
    /// `true`, `text`).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The plugin's parameter values as a JSON object (`{"max_shipments": 2}`); `--param`
    /// overrides single ones.
    #[arg(long, value_name = "FILE.json", requires = "plugin")]
    pub plugin_config: Option<PathBuf>,
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Route(args) => route(args),
        Command::Check(args) => check(args),
        Command::Test(args) => test(args),
        Command::Plugin(PluginCommand::Inspect { file }) => inspect_plugin(&file),
        Command::Plugin(PluginCommand::Run {
            file,
            input,
            scenario,
            order,
            max_fuel,
            max_memory,
            plugin_config,
            params,
        }) => {
            let mut input = match (input, scenario, order) {
                (Some(path), _, _) => read_plugin_input(&path)?,
                (None, Some(scenario), Some(order)) => plugin_request(&scenario, &order)?,
                _ => bail!("give --input FILE, or --scenario FILE and --order ID"),
            };
            let plugin = load_plugin(&file)?;
            input.parameters.extend(plugin_parameters(&plugin, &params, plugin_config.as_deref())?);
            run_plugin(&file, &plugin, &input, max_fuel, max_memory)
        }
        Command::Plugin(PluginCommand::Request { scenario, order, out }) => {
            let input = plugin_request(&scenario, &order)?;
            let json = serde_json::to_string_pretty(&input)? + "\n";
            match out {
                Some(path) => std::fs::write(&path, json).with_context(|| format!("cannot write `{}`", path.display())),
                None => {
                    print!("{json}");
                    Ok(())
                }
            }
        }
        Command::Plugin(PluginCommand::CompileWorker { max_memory }) => compile_worker(max_memory),
        Command::Serve(args) => crate::serve::serve(args),
        Command::Simulate(args) => simulate(args),
    }
}

fn route(args: RouteArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read scenario `{}`", args.scenario.display()))?;
    let scenario =
        Scenario::from_json(&text).map_err(|error| anyhow::anyhow!("{}: {error}", args.scenario.display()))?;
    let explain: HashSet<String> = args.explain.iter().cloned().collect();
    if let Some(missing) = args.explain.iter().find(|id| !scenario.orders.iter().any(|o| &o.id == *id)) {
        bail!("--explain: the scenario has no order `{missing}`");
    }
    let config = RouterConfig {
        strategy: match args.strategy {
            StrategyArg::Optimal => Strategy::Optimal,
            StrategyArg::Greedy => Strategy::Greedy,
            StrategyArg::Exhaustive => Strategy::Exhaustive,
        },
        budget: SearchBudget { max_nodes: args.max_nodes, max_time: args.max_time_ms.map(Duration::from_millis) },
        ..RouterConfig::default()
    };
    let dsl_policy = match &args.policy {
        Some(path) => Some(load_policy(path, &args.params)?),
        None => None,
    };
    let wasm_policy = match &args.plugin {
        Some(path) => {
            let plugin = load_plugin(path)?;
            let given = plugin_parameters(&plugin, &args.params, args.plugin_config.as_deref())?;
            Some(plugin.with_parameters(&given)?)
        }
        None if !args.params.is_empty() && args.policy.is_none() => {
            bail!("--param sets a parameter of --policy or --plugin; give one")
        }
        None => None,
    };
    let policy: &dyn Policy = match (&dsl_policy, &wasm_policy) {
        (Some(policy), _) => policy,
        (None, Some(plugin)) => plugin,
        (None, None) => &scenario.policy,
    };
    let result = replay(&scenario, policy, &config, &explain);
    // A failing order is reported and the replay goes on: nothing is reserved for it.
    const MAX_FAILURES_SHOWN: usize = 20;
    for (index, error) in result.failures.iter().take(MAX_FAILURES_SHOWN) {
        eprintln!("order `{}` (#{} in the file) failed: {error}", scenario.orders[*index].id, index + 1);
    }
    if result.failures.len() > MAX_FAILURES_SHOWN {
        eprintln!("... and {} more failed order(s)", result.failures.len() - MAX_FAILURES_SHOWN);
    }
    for explanation in &result.explanations {
        eprintln!("{}\n", explanation.display(&scenario.catalog));
    }
    if let Some(out) = &args.out {
        let document = PlanDocument::new(&scenario.name, &scenario.catalog, &scenario.orders, &result.plans);
        let json = serde_json::to_string(&document)?;
        if out.as_os_str() == "-" {
            let mut stdout = std::io::stdout().lock();
            writeln!(stdout, "{json}")?;
        } else {
            std::fs::write(out, json + "\n").with_context(|| format!("cannot write plan `{}`", out.display()))?;
        }
    }
    let stats = result.stats();
    eprintln!(
        "{}: {} orders routed ({} rejected, {} failed), total cost {:.2}, {} shipments, {} units unfilled",
        scenario.name,
        stats.orders,
        stats.rejected,
        stats.failed,
        stats.total_cost,
        stats.shipments,
        stats.unfilled_units
    );
    eprintln!(
        "proved optimal {:.2}% ({:.1} search nodes per order), {:.0} orders/s, p50 {:.1} µs, p99 {:.1} µs per order ({} strategy)",
        stats.proved_optimal * 100.0,
        stats.mean_nodes,
        stats.orders_per_second,
        stats.p50.as_secs_f64() * 1e6,
        stats.p99.as_secs_f64() * 1e6,
        args.strategy.to_possible_value().map_or_else(String::new, |v| v.get_name().to_owned())
    );
    if stats.failed > 0 {
        bail!("the policy failed on {} of {} order(s)", stats.failed, stats.orders);
    }
    Ok(())
}

/// Loads a plugin file under the default limits.
pub fn load_plugin(path: &std::path::Path) -> anyhow::Result<switchyard_plugins::WasmPolicy> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read plugin `{}`", path.display()))?;
    let host = switchyard_plugins::PluginHost::new(switchyard_plugins::Limits::default())?;
    let name = path.file_stem().map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned());
    host.load(&name, &bytes).with_context(|| format!("cannot load plugin `{}`", path.display()))
}

/// A plugin's parameter values from `--plugin-config FILE` (a JSON object) and `--param
/// name=value` (over the file's): each named and typed as the plugin declares it.
pub fn plugin_parameters(
    plugin: &switchyard_plugins::WasmPolicy,
    params: &[String],
    config: Option<&std::path::Path>,
) -> anyhow::Result<std::collections::BTreeMap<String, switchyard_plugins::ParamValue>> {
    let declared = &plugin.plugin().parameters;
    let mut given = std::collections::BTreeMap::new();
    if let Some(path) = config {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        given = serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&text))
            .map_err(|error| anyhow::anyhow!("{}: `{}`: {}", path.display(), error.path(), error.inner()))?;
        switchyard_plugins::parameters::values(declared, &given)
            .map_err(|message| anyhow::anyhow!("{}: {message}", path.display()))?;
    }
    let overrides = switchyard_plugins::parameters::parse_all(declared, params)
        .map_err(|message| anyhow::anyhow!("--param {message}"))?;
    given.extend(overrides);
    Ok(given)
}

fn simulate(args: SimulateArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal;

    let text = std::fs::read_to_string(&args.scenario)
        .with_context(|| format!("cannot read scenario `{}`", args.scenario.display()))?;
    let scenario =
        Scenario::from_json(&text).map_err(|error| anyhow::anyhow!("{}: {error}", args.scenario.display()))?;
    let load = |path: &std::path::Path| -> anyhow::Result<Box<dyn Policy>> {
        Ok(if path.extension().is_some_and(|e| e == "wasm") {
            Box::new(load_plugin(path)?)
        } else {
            Box::new(load_policy(path, &[])?)
        })
    };
    let stem_of = |path: &std::path::Path| {
        path.file_stem().map_or_else(|| "policy".to_owned(), |s| s.to_string_lossy().into_owned())
    };
    let mut loaded: Vec<(String, Box<dyn Policy>)> = Vec::new();
    for path in &args.policies {
        let stem = stem_of(path);
        let label = if loaded.iter().any(|(l, _)| *l == stem) { format!("{stem}#{}", loaded.len() + 1) } else { stem };
        loaded.push((label, load(path)?));
    }
    let price_list =
        args.price_with.as_deref().map(|path| Ok::<_, anyhow::Error>((stem_of(path), load(path)?))).transpose()?;
    let mut policies: Vec<(String, &dyn Policy)> = loaded.iter().map(|(l, p)| (l.clone(), p.as_ref())).collect();
    if policies.is_empty() {
        policies.push(("reference".to_owned(), &scenario.policy));
    }
    let terminal = std::io::stderr().is_terminal();
    let mut last_drawn = usize::MAX;
    let mut progress = |label: &str, done: usize, total: usize| {
        if !terminal || total == 0 {
            return;
        }
        let filled = done * 30 / total;
        if filled != last_drawn || done == total {
            last_drawn = filled;
            eprint!("\r{label:<24} [{}{}] {done}/{total}", "#".repeat(filled), " ".repeat(30 - filled));
            if done == total {
                eprintln!();
            }
        }
    };
    let pricing = price_list.as_ref().map(|(label, policy)| (label.clone(), policy.as_ref()));
    // The flag's settings, else those the first policy declares (`look ahead { ... }`).
    let every = i64::from(args.look_ahead_every.max(1)) * 60;
    let look_ahead = match (args.look_ahead, policies.first().and_then(|(_, policy)| policy.look_ahead())) {
        (Some(weight), _) if !(weight.is_finite() && weight >= 0.0) => {
            bail!("--look-ahead {weight}: the weight must be a finite number, 0 or more")
        }
        (Some(weight), _) => Some(crate::simulate::LookAhead {
            weight,
            every,
            window: i64::from(args.look_ahead_window.max(1)) * 3600,
            horizon: i64::from(args.look_ahead_horizon.max(1)) * 3600,
            oracle: args.look_ahead_oracle,
        }),
        (None, Some(declared)) => Some(crate::simulate::LookAhead {
            weight: declared.weight,
            every,
            window: declared.history_secs,
            horizon: declared.horizon_secs,
            oracle: args.look_ahead_oracle,
        }),
        (None, None) => None,
    };
    let reoptimize = args.release_after.map(|minutes| crate::simulate::Reoptimize {
        release_after: i64::from(minutes) * 60,
        every: i64::from(args.reoptimize_every.max(1)) * 60,
        settings: switchyard_engine::ReoptimizeSettings {
            chain: args.chain as usize,
            replan_rounds: args.replan_rounds as usize,
            ..switchyard_engine::ReoptimizeSettings::default()
        },
    });
    let stream = crate::simulate::StreamOptions {
        look_ahead,
        reoptimize,
        bound: args.bound.then_some(args.bound_rounds as usize),
    };
    let simulation = crate::simulate::simulate(&scenario, &policies, pricing, &stream, &mut progress)?;
    let count = if policies.len() == 1 { "1 policy".to_owned() } else { format!("{} policies", policies.len()) };
    println!("{}: {} orders, {count} and the greedy baseline", scenario.name, scenario.orders.len());
    print!("{}", simulation.table(args.locations));
    if let Some(directory) = &args.report {
        let path = crate::report::write_report(&simulation, directory)
            .with_context(|| format!("cannot write the report into `{}`", directory.display()))?;
        println!("report: {}", path.display());
    }
    Ok(())
}

/// Reads a `name=value` parameter override.
pub fn parse_param(text: &str) -> anyhow::Result<(String, Literal)> {
    let Some((name, value)) = text.split_once('=') else {
        bail!("--param `{text}`: expected `name=value`");
    };
    let (name, value) = (name.trim(), value.trim());
    // Values are written as in a policy file; anything else is taken as a plain string, so
    // `--param channel=b2b` needs no quotes.
    let literal = switchyard_dsl::parse::literal(value).unwrap_or_else(|| Literal::String(value.to_owned()));
    Ok((name.to_owned(), literal))
}

/// Loads a policy file, printing its warnings; its errors become the error.
pub fn load_policy(path: &std::path::Path, params: &[String]) -> anyhow::Result<DslPolicy> {
    let source = std::fs::read_to_string(path).with_context(|| format!("cannot read policy `{}`", path.display()))?;
    let mut overrides = switchyard_dsl::no_overrides();
    for param in params {
        let (name, value) = parse_param(param)?;
        overrides.insert(name, value);
    }
    match switchyard_dsl::load(&path.display().to_string(), &source, &overrides) {
        Ok((policy, warnings)) => {
            if !warnings.items.is_empty() {
                eprint!("{}", warnings.render());
            }
            let unknown: Vec<&String> = overrides.keys().filter(|name| !policy.params().contains(name)).collect();
            if let Some(name) = unknown.first() {
                bail!("--param `{name}`: the policy has no such param (it has: {})", policy.params().join(", "));
            }
            Ok(policy)
        }
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render());
            bail!("{}: {} error(s); the policy was not loaded", path.display(), diagnostics.error_count())
        }
    }
}

fn check(args: CheckArgs) -> anyhow::Result<()> {
    let mut failed = 0;
    let mut warnings = 0;
    for path in &args.files {
        let source = match std::fs::read_to_string(path) {
            Ok(source) => source,
            Err(error) => {
                eprintln!("error: cannot read `{}`: {error}", path.display());
                failed += 1;
                continue;
            }
        };
        match switchyard_dsl::load(&path.display().to_string(), &source, &switchyard_dsl::no_overrides()) {
            Ok((_, diagnostics)) => {
                warnings += diagnostics.warning_count();
                eprint!("{}", diagnostics.render());
            }
            Err(diagnostics) => {
                failed += 1;
                warnings += diagnostics.warning_count();
                eprint!("{}", diagnostics.render());
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of {} policy file(s) have errors", args.files.len());
    }
    println!("{} policy file(s) ok, {warnings} warning(s)", args.files.len());
    Ok(())
}

fn test(args: TestArgs) -> anyhow::Result<()> {
    let (mut passed, mut failed) = (0, 0);
    for path in &args.files {
        println!("{}", path.display());
        for case in crate::policy_test::run_file(path, args.plugin.as_deref())? {
            match &case.failure {
                None => {
                    passed += 1;
                    println!("  ok    {}", case.name);
                }
                Some(failure) => {
                    failed += 1;
                    println!("  FAIL  {}: {failure}", case.name);
                }
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} policy test case(s) failed");
    }
    Ok(())
}

// Compiles one plugin from stdin to stdout. A refusal is `refused: <reason>` on stderr and exit
// code 2; running out of the address space aborts the process (the parent says so).
fn compile_worker(max_memory: u64) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    rustix::process::setrlimit(
        rustix::process::Resource::As,
        rustix::process::Rlimit { current: Some(max_memory), maximum: Some(max_memory) },
    )
    .context("cannot limit the compile worker's address space")?;
    // Below the service in the scheduler: a compile taking its whole time budget leaves the
    // routing threads their share of the CPU. (Lowering one's own priority cannot fail for
    // want of rights; if it fails anyway, compiling at normal priority is still correct.)
    let _ = rustix::process::nice(10);
    // Compiling needs no instances: no pooled memory is reserved (its address space would
    // count against the limit), and the artifact is the same.
    let limits = switchyard_plugins::Limits { pooling: false, ..switchyard_plugins::Limits::default() };
    let host = switchyard_plugins::PluginHost::new(limits)?;
    let mut bytes = Vec::new();
    let most = host.limits().max_module_bytes as u64 + 1;
    std::io::stdin().take(most).read_to_end(&mut bytes).context("cannot read the plugin from stdin")?;
    match host.precompile(&bytes) {
        Ok(artifact) => {
            std::io::stdout().write_all(&artifact).context("cannot write the artifact")?;
            Ok(())
        }
        Err(error) => {
            eprintln!("refused: {error}");
            std::process::exit(2);
        }
    }
}

// The request a plugin would be shown for `order_id` of the scenario at `path`: the order
// routed (without reserving) on the starting stock under the scenario's policy, the first
// request its policy sees taken as the plugin's.
fn plugin_request(path: &std::path::Path, order_id: &str) -> anyhow::Result<switchyard_plugins::runner::PluginInput> {
    struct Capture<'a> {
        inner: &'a dyn Policy,
        seen: std::sync::Mutex<Option<switchyard_plugins::runner::PluginInput>>,
    }
    impl Policy for Capture<'_> {
        fn info(&self) -> std::sync::Arc<switchyard_engine::PolicyInfo> {
            self.inner.info()
        }
        fn late_delivery(&self) -> switchyard_engine::LateDelivery {
            self.inner.late_delivery()
        }
        fn evaluate(
            &self,
            request: &switchyard_engine::PolicyRequest<'_>,
            out: &mut switchyard_engine::Evaluation,
        ) -> Result<(), switchyard_engine::PolicyError> {
            let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            seen.get_or_insert_with(|| switchyard_plugins::runner::PluginInput::of(request));
            drop(seen);
            self.inner.evaluate(request, out)
        }
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read scenario `{}`", path.display()))?;
    let scenario = Scenario::from_json(&text).map_err(|error| anyhow::anyhow!("{}: {error}", path.display()))?;
    let Some(order) = scenario.orders.iter().find(|o| o.id == order_id) else {
        bail!("--order: the scenario has no order `{order_id}`");
    };
    let capture = Capture { inner: &scenario.policy, seen: std::sync::Mutex::new(None) };
    let inventory = scenario.fresh_inventory();
    let config = RouterConfig::default();
    let router = switchyard_engine::Router {
        catalog: &scenario.catalog,
        inventory: &inventory,
        policy: &capture,
        config: &config,
    };
    router
        .plan(order, &mut switchyard_engine::Workspace::default())
        .with_context(|| format!("cannot route order `{order_id}`"))?;
    let seen = capture.seen.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    seen.ok_or_else(|| anyhow::anyhow!("order `{order_id}` has no candidates: no policy or plugin would be asked"))
}

fn read_plugin_input(path: &std::path::Path) -> anyhow::Result<switchyard_plugins::runner::PluginInput> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let input: switchyard_plugins::runner::PluginInput =
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_str(&text))
            .map_err(|error| anyhow::anyhow!("{}: `{}`: {}", path.display(), error.path(), error.inner()))?;
    input.check().map_err(|message| anyhow::anyhow!("{}: {message}", path.display()))?;
    Ok(input)
}

fn run_plugin(
    path: &std::path::Path,
    plugin: &switchyard_plugins::WasmPolicy,
    input: &switchyard_plugins::runner::PluginInput,
    max_fuel: Option<u64>,
    max_memory: Option<u64>,
) -> anyhow::Result<()> {
    let run = plugin.run_input(input).with_context(|| format!("plugin `{}` failed", path.display()))?;
    println!("{}", serde_json::to_string_pretty(&run)?);
    for line in &run.logs {
        eprintln!("log: {line}");
    }
    if let Some(max) = max_fuel.filter(|&max| run.fuel > max) {
        bail!("the plugin used {} fuel, more than --max-fuel {max}", run.fuel);
    }
    if let Some(max) = max_memory.filter(|&max| run.memory_bytes > max) {
        bail!("the plugin's memory grew to {} bytes, more than --max-memory {max}", run.memory_bytes);
    }
    Ok(())
}

fn inspect_plugin(path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read plugin `{}`", path.display()))?;
    let host = switchyard_plugins::PluginHost::new(switchyard_plugins::Limits::default())?;
    let name = path.file_stem().map_or_else(|| "plugin".to_owned(), |s| s.to_string_lossy().into_owned());
    println!("file:      {}", path.display());
    println!("size:      {} bytes (limit {})", bytes.len(), host.limits().max_module_bytes);
    match host.load(&name, &bytes) {
        Ok(plugin) => {
            let info = plugin.plugin();
            let current = if info.world_version == switchyard_plugins::WIT_VERSION {
                String::new()
            } else {
                format!(" (older than this host's {}; it runs)", switchyard_plugins::WIT_VERSION)
            };
            println!("world:     switchyard:routing/routing-plugin@{}{current}", info.world_version);
            println!("version:   {} (content hash)", info.version);
            println!(
                "format:    {}",
                if info.wrapped { "core module with component type (wrapped by the host)" } else { "component" }
            );
            println!("imports:   {}", info.imports.join(", "));
            println!("exports:   {}", info.exports.join(", "));
            if info.parameters.is_empty() {
                println!("parameters: none");
            }
            for (index, parameter) in info.parameters.iter().enumerate() {
                let label = if index == 0 { "parameters:" } else { "           " };
                println!(
                    "{label} {} ({}, default {}){}",
                    parameter.name,
                    parameter.ty.name(),
                    parameter.default,
                    if parameter.description.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", parameter.description)
                    }
                );
            }
            println!("valid:     yes, this host can run it");
            Ok(())
        }
        Err(error) => {
            println!("valid:     no");
            bail!("{error}")
        }
    }
}
