//! The simulation report: one self-contained HTML file (inline CSS, charts as inline SVG, no
//! scripts, no network), readable offline.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::simulate::Simulation;

const COLOURS: [&str; 6] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2"];
const GREEDY_COLOUR: &str = "#9a9a9a";
const COST_BUCKETS: usize = 16;
const MAX_LOCATIONS_CHARTED: usize = 40;
const MAX_DIFFERENCES_LISTED: usize = 100;

/// Writes `index.html` into `directory` (created if needed) and returns its path.
pub fn write_report(simulation: &Simulation, directory: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(directory)?;
    let path = directory.join("index.html");
    std::fs::write(&path, render(simulation))?;
    Ok(path)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn colour(simulation: &Simulation, column: usize) -> &'static str {
    if simulation.columns[column].greedy { GREEDY_COLOUR } else { COLOURS[column % COLOURS.len()] }
}

/// The whole page.
pub fn render(simulation: &Simulation) -> String {
    let mut page = String::new();
    let title = format!("switchyard: what-if on {}", escape(&simulation.scenario));
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}}\
table{{border-collapse:collapse;margin:1rem 0}}td,th{{padding:.25rem .6rem;border-bottom:1px solid #ddd;text-align:right}}\
td:first-child,th:first-child{{text-align:left}}h2{{margin-top:2.5rem}}.note{{color:#666;font-size:.9rem}}\
svg{{display:block;margin:1rem 0}}</style></head><body>\n<h1>{title}</h1>\n"
    );
    let _ = writeln!(
        page,
        "<p class=\"note\">{} orders over {} day(s), {} locations. Each policy routed the orders in file order on \
its own copy of the starting stock; the greedy baseline is the rule most platforms ship (the cheapest \
single location, else line by line) under the first policy's costs. Every column's plans are priced by <b>{}</b>'s cost model, so the costs compare like with like; each policy's own figure is shown where it differs.</p>",
        simulation.columns.first().map_or(0, |c| c.summary.orders),
        simulation.days,
        simulation.locations.len(),
        escape(&simulation.priced_by)
    );
    summary_table(simulation, &mut page);
    page.push_str("<h2>Cost per order</h2>\n");
    page.push_str(&cost_distribution(simulation));
    page.push_str("<h2>Shipments per order</h2>\n");
    page.push_str(&shipments_per_order(simulation));
    page.push_str("<h2>Location utilisation</h2>\n");
    page.push_str(&location_utilisation(simulation));
    page.push_str("<h2>Where the policies differ</h2>\n");
    differences(simulation, &mut page);
    page.push_str("</body></html>\n");
    page
}

fn summary_table(simulation: &Simulation, page: &mut String) {
    page.push_str("<table id=\"summary\"><tr><th></th>");
    for (index, column) in simulation.columns.iter().enumerate() {
        let _ = write!(page, "<th style=\"color:{}\">{}</th>", colour(simulation, index), escape(&column.label));
    }
    page.push_str("</tr>\n");
    let greedy = simulation.greedy().map(|g| g.priced.total_cost);
    let mut row = |name: &str, cell: &dyn Fn(usize) -> String| {
        let _ = write!(page, "<tr><td>{name}</td>");
        for index in 0..simulation.columns.len() {
            let _ = write!(page, "<td>{}</td>", cell(index));
        }
        page.push_str("</tr>\n");
    };
    let c = |i: usize| &simulation.columns[i];
    let priced_by = escape(&simulation.priced_by);
    row(&format!("total cost (priced by {priced_by})"), &|i| format!("{:.2}", c(i).priced.total_cost));
    row("cost per order", &|i| format!("{:.2}", c(i).priced_cost_per_order()));
    row("vs greedy", &|i| match greedy {
        Some(g) if g > 0.0 && !c(i).greedy => format!("{:+.2}%", (c(i).priced.total_cost - g) / g * 100.0),
        _ => "–".to_owned(),
    });
    row("the policy's own total cost", &|i| c(i).own_cost_text());
    if let Some(Ok(_)) = &simulation.bound {
        row("above the clairvoyant bound", &|i| {
            simulation.above_bound(c(i)).map_or("–".to_owned(), |above| format!("{:+.2}%", above * 100.0))
        });
        row("gap to the bound closed", &|i| {
            simulation.gap_closed(c(i)).map_or("–".to_owned(), |closed| format!("{:.1}%", closed * 100.0))
        });
    }
    row(&format!("plans {priced_by}'s rules forbid"), &|i| match &c(i).priced.first_broken {
        Some((order, reason)) => {
            format!("<span title=\"first: {} ({})\">{}</span>", escape(order), escape(reason), c(i).priced.broken)
        }
        None => c(i).priced.broken.to_string(),
    });
    row("shipments per order", &|i| format!("{:.3}", c(i).summary.shipments_per_order()));
    row("extra shipments", &|i| crate::simulate::extra_shipments(&c(i).summary).to_string());
    row("split rate", &|i| format!("{:.1}%", c(i).summary.split_rate() * 100.0));
    row("unfilled units", &|i| c(i).summary.unfilled_units.to_string());
    row("backordered units", &|_| "n/a".to_owned());
    row("rejected orders", &|i| c(i).rejected().to_string());
    row("orders the policy failed on", &|i| c(i).failed.to_string());
    row("proved optimal", &|i| format!("{:.1}%", c(i).summary.optimal_share() * 100.0));
    row("distance (km)", &|i| format!("{:.0}", c(i).summary.distance_km));
    row("routing p50 / p99 (µs)", &|i| {
        format!("{:.1} / {:.1}", c(i).p50.as_secs_f64() * 1e6, c(i).p99.as_secs_f64() * 1e6)
    });
    page.push_str("</table>\n");
    for note in simulation.notes() {
        let _ = writeln!(page, "<p class=\"note\">{}.</p>", escape(&note));
    }
    page.push_str("<p class=\"note\">Backordered units: the scenarios carry no inbound stock yet.</p>\n");
}

struct Series {
    label: String,
    colour: &'static str,
    values: Vec<f64>,
}

fn series(simulation: &Simulation, values: impl Fn(usize) -> Vec<f64>) -> Vec<Series> {
    (0..simulation.columns.len())
        .map(|i| Series {
            label: simulation.columns[i].label.clone(),
            colour: colour(simulation, i),
            values: values(i),
        })
        .collect()
}

fn cost_distribution(simulation: &Simulation) -> String {
    let mut all: Vec<f64> = simulation.columns.iter().flat_map(|c| c.priced.order_costs.iter().copied()).collect();
    all.sort_by(f64::total_cmp);
    // Buckets up to the 95th percentile; the last one holds everything above (unfilled units
    // make a long tail).
    let top = all.get(((all.len() as f64) * 0.95) as usize).or(all.last()).copied().unwrap_or(1.0).max(1e-9);
    let width = top / (COST_BUCKETS - 1) as f64;
    let bucket = |cost: f64| ((cost / width) as usize).min(COST_BUCKETS - 1);
    let categories: Vec<String> = (0..COST_BUCKETS)
        .map(|b| {
            if b == COST_BUCKETS - 1 {
                format!("≥{:.0}", b as f64 * width)
            } else {
                format!("{:.0}–{:.0}", b as f64 * width, (b + 1) as f64 * width)
            }
        })
        .collect();
    let data = series(simulation, |i| {
        let mut counts = vec![0.0; COST_BUCKETS];
        for &cost in &simulation.columns[i].priced.order_costs {
            counts[bucket(cost)] += 1.0;
        }
        counts
    });
    grouped_bars("cost-per-order", &categories, &data, "orders", "cost of the order's plan")
}

fn shipments_per_order(simulation: &Simulation) -> String {
    let most = simulation.columns.iter().map(|c| c.summary.shipment_histogram.len()).max().unwrap_or(1);
    let categories: Vec<String> = (0..most).map(|n| n.to_string()).collect();
    let data = series(simulation, |i| {
        let histogram = &simulation.columns[i].summary.shipment_histogram;
        (0..most).map(|n| histogram.get(n).copied().unwrap_or(0) as f64).collect()
    });
    grouped_bars("shipments-per-order", &categories, &data, "orders", "shipments in the order's plan")
}

fn location_utilisation(simulation: &Simulation) -> String {
    let locations: Vec<usize> = simulation.busiest_locations().into_iter().take(MAX_LOCATIONS_CHARTED).collect();
    let capped = locations.iter().all(|&l| simulation.capacities.get(l).copied().flatten().is_some());
    let categories: Vec<String> = locations.iter().map(|&l| simulation.locations[l].clone()).collect();
    let data = series(simulation, |i| {
        let column = &simulation.columns[i];
        locations
            .iter()
            .map(|&l| {
                if capped {
                    simulation.utilisation(column, l).unwrap_or(0.0) * 100.0
                } else {
                    column.summary.location_shipments.get(l).copied().unwrap_or(0) as f64
                }
            })
            .collect()
    });
    let (unit, axis) = if capped {
        ("% of capacity", "share of daily capacity used over the scenario's days")
    } else {
        ("shipments", "shipments (some locations have no capacity limit)")
    };
    let mut out = format!(
        "<p class=\"note\">The {} busiest locations under {}, {axis}.</p>\n",
        locations.len(),
        escape(&simulation.columns[0].label)
    );
    out.push_str(&grouped_bars("location-utilisation", &categories, &data, unit, "location"));
    out
}

fn differences(simulation: &Simulation, page: &mut String) {
    let categories: Vec<String> = simulation.columns.iter().map(|c| c.label.clone()).collect();
    let counts: Vec<f64> = (0..simulation.columns.len()).map(|i| simulation.differing_from_first(i) as f64).collect();
    let data = vec![Series {
        label: format!("orders planned unlike {}", simulation.columns[0].label),
        colour: COLOURS[0],
        values: counts,
    }];
    page.push_str(&grouped_bars("differences", &categories, &data, "orders", "column"));
    let _ = writeln!(
        page,
        "<p class=\"note\">{} order(s) are planned differently by some column than by {} (the first {} listed).</p>",
        simulation.differences.len(),
        escape(&simulation.columns[0].label),
        simulation.differences.len().min(MAX_DIFFERENCES_LISTED)
    );
    page.push_str("<table id=\"differences\"><tr><th>order</th>");
    for column in &simulation.columns {
        let _ = write!(page, "<th>{} cost</th><th>ships from</th>", escape(&column.label));
    }
    page.push_str("</tr>\n");
    for difference in simulation.differences.iter().take(MAX_DIFFERENCES_LISTED) {
        let _ = write!(page, "<tr><td>{}</td>", escape(&difference.order_id));
        for (cost, locations) in difference.costs.iter().zip(&difference.locations) {
            let _ = write!(page, "<td>{cost:.2}</td><td>{}</td>", escape(locations));
        }
        page.push_str("</tr>\n");
    }
    page.push_str("</table>\n");
}

/// A grouped bar chart: one group per category, one bar per series, with axes, ticks, a
/// legend and a tooltip (`<title>`) per bar.
fn grouped_bars(id: &str, categories: &[String], series: &[Series], y_label: &str, x_label: &str) -> String {
    const WIDTH: f64 = 1000.0;
    const HEIGHT: f64 = 320.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 10.0;
    const TOP: f64 = 30.0;
    const BOTTOM: f64 = 90.0;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0_f64, f64::max).max(1e-9);
    let nice_max = nice_ceiling(max);
    let group_width = plot_width / categories.len().max(1) as f64;
    let bar_width = (group_width * 0.8 / series.len().max(1) as f64).max(1.0);
    let mut svg = format!(
        "<svg id=\"{id}\" data-chart=\"{id}\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{}\">\n",
        escape(y_label)
    );
    for tick in 0..=4 {
        let value = nice_max * f64::from(tick) / 4.0;
        let y = TOP + plot_height - plot_height * f64::from(tick) / 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#e5e5e5\"/><text x=\"{}\" y=\"{:.1}\" \
font-size=\"11\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            short_number(value)
        );
    }
    for (g, category) in categories.iter().enumerate() {
        let group_x = LEFT + group_width * g as f64 + group_width * 0.1;
        for (s, data) in series.iter().enumerate() {
            let value = data.values.get(g).copied().unwrap_or(0.0);
            let height = plot_height * value / nice_max;
            let x = group_x + bar_width * s as f64;
            let _ = writeln!(
                svg,
                "<rect class=\"bar\" x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{height:.1}\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                TOP + plot_height - height,
                (bar_width - 1.0).max(0.5),
                data.colour,
                escape(&data.label),
                escape(category),
                short_number(value)
            );
        }
        let label_x = LEFT + group_width * (g as f64 + 0.5);
        let label_y = TOP + plot_height + 14.0;
        let _ = writeln!(
            svg,
            "<text x=\"{label_x:.1}\" y=\"{label_y:.1}\" font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-40 {label_x:.1} {label_y:.1})\">{}</text>",
            escape(category)
        );
    }
    let _ = writeln!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{}\" stroke=\"#444\"/><line x1=\"{LEFT}\" x2=\"{}\" y1=\"{0}\" y2=\"{0}\" stroke=\"#444\"/>",
        TOP + plot_height,
        WIDTH - RIGHT
    );
    let _ = writeln!(
        svg,
        "<text x=\"12\" y=\"{:.1}\" font-size=\"11\" transform=\"rotate(-90 12 {:.1})\" text-anchor=\"middle\">{}</text>\
<text x=\"{:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
        TOP + plot_height / 2.0,
        TOP + plot_height / 2.0,
        escape(y_label),
        LEFT + plot_width / 2.0,
        HEIGHT - 4.0,
        escape(x_label)
    );
    let mut legend_x = LEFT;
    for data in series {
        let _ = writeln!(
            svg,
            "<rect x=\"{legend_x:.1}\" y=\"8\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{:.1}\" y=\"18\" font-size=\"12\">{}</text>",
            data.colour,
            legend_x + 16.0,
            escape(&data.label)
        );
        legend_x += 24.0 + 7.0 * data.label.chars().count() as f64;
    }
    svg.push_str("</svg>\n");
    svg
}

// The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`.
fn nice_ceiling(value: f64) -> f64 {
    let power = 10f64.powf(value.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * power).find(|&v| v >= value).unwrap_or(value)
}

fn short_number(value: f64) -> String {
    if value >= 100.0 || value == value.trunc() { format!("{value:.0}") } else { format!("{value:.1}") }
}
