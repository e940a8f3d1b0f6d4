//! The dashboard: one self-contained HTML file (inline CSS, JS and SVG; no request of any kind).
//! Pattern cards are `<details>` elements, so a click shows a pattern's series with JavaScript
//! off too; the filters (category, minimum frequency, search) need JavaScript.

use std::fmt::Write as _;

use super::Report;

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// Drops the XML prologue plotters may emit, so the SVG can sit inline.
fn inline_svg(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

const STYLE: &str = r#"
:root { --fg: #1d2330; --muted: #667085; --line: #e4e7ec; --accent: #3859d6; --bg: #f7f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { padding: 20px 28px; background: #fff; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
header p.warning { margin-top: 8px; padding: 8px 12px; color: #7a2e00; background: #fff4e5; border-left: 4px solid #d97706; }
nav { padding: 8px 28px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; }
main { padding: 16px 28px 48px; max-width: 1400px; }
section { margin: 24px 0; }
h2 { font-size: 17px; margin: 0 0 10px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
.chart { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 6px; margin: 0; }
.chart svg { display: block; max-width: 100%; height: auto; }
.filters { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; margin-bottom: 12px; }
.filters input, .filters select { font: inherit; padding: 5px 8px; border: 1px solid var(--line); border-radius: 6px; background: #fff; }
#count { color: var(--muted); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 10px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; }
.card[hidden] { display: none; }
.card summary { cursor: pointer; padding: 10px 12px; list-style: none; }
.card summary::-webkit-details-marker { display: none; }
.rank { color: var(--muted); font-weight: 600; margin-right: 6px; }
code { font: 12.5px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-word; }
.sig { display: block; margin: 2px 0; }
.sem { display: block; color: var(--muted); }
.meta { margin-top: 6px; color: var(--muted); font-size: 12.5px; }
.tag { display: inline-block; padding: 0 6px; border-radius: 10px; background: #eef2ff; color: var(--accent); font-size: 12px; margin-right: 4px; }
.detail { padding: 0 12px 12px; }
.mig { background: #fff; border: 1px solid var(--line); border-radius: 8px; margin-top: 8px; }
.mig summary { cursor: pointer; padding: 10px 12px; }
.detail ul { margin: 6px 0; padding-left: 18px; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
"#;

const SCRIPT: &str = r#"
(function () {
  var search = document.getElementById('search');
  var category = document.getElementById('category');
  var minfreq = document.getElementById('minfreq');
  var count = document.getElementById('count');
  var cards = Array.prototype.slice.call(document.querySelectorAll('.card'));
  function apply() {
    var q = search.value.trim().toLowerCase();
    var cat = category.value;
    var min = parseInt(minfreq.value || '0', 10) || 0;
    var shown = 0;
    cards.forEach(function (card) {
      var ok = (!q || card.getAttribute('data-text').indexOf(q) !== -1)
        && (!cat || (',' + card.getAttribute('data-category') + ',').indexOf(',' + cat + ',') !== -1)
        && parseInt(card.getAttribute('data-frequency'), 10) >= min;
      card.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown + ' of ' + cards.length + ' patterns';
    document.body.setAttribute('data-shown', String(shown));
  }
  [search, category, minfreq].forEach(function (el) { el.addEventListener('input', apply); el.addEventListener('change', apply); });
  // #q=text&category=name&min=N in the address prefills the filters (links, tests).
  var params = {};
  location.hash.replace(/^#/, '').split('&').forEach(function (kv) {
    var i = kv.indexOf('=');
    if (i > 0) { params[kv.slice(0, i)] = decodeURIComponent(kv.slice(i + 1)); }
  });
  if (params.q) { search.value = params.q; }
  if (params.category) { category.value = params.category; }
  if (params.min) { minfreq.value = params.min; }
  document.querySelector('.filters').hidden = false;
  apply();
})();
"#;

/// The dashboard HTML. `charts` are (file, title, svg) as rendered for the report.
pub fn render(report: &Report, charts: &[(String, String, String)]) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>",
        esc(&report.title)
    );
    let _ = write!(
        h,
        "<header><h1>{}</h1><p>Snapshot: {}",
        esc(&report.title),
        esc(&report.snapshot)
    );
    if let Some(evo) = &report.evolution {
        let _ = write!(h, " · {} commits", evo.commits);
    }
    let _ = write!(h, " · {} files</p>", report.quality.files);
    if let Some(incomplete) = &report.incomplete {
        let _ = write!(h, "<p class=\"warning\">{}</p>", esc(&incomplete.note()));
    }
    h.push_str("</header>");
    // A scan's report has no Migrations section to link to.
    let _ = write!(
        h,
        "<nav><a href=\"#evolution\">Evolution</a><a href=\"#patterns\">Patterns</a><a href=\"#clusters\">Clusters</a><a href=\"#cooccurrence\">Co-occurrence</a><a href=\"#releases\">Releases</a>{}<a href=\"#categories\">Categories</a><a href=\"#quality\">Parse quality</a></nav><main>",
        if report.migrations.is_some() {
            "<a href=\"#migrations\">Migrations</a>"
        } else {
            ""
        }
    );

    // Evolution charts.
    h.push_str("<section id=\"evolution\"><h2>Evolution</h2>");
    if report.evolution.is_none() {
        h.push_str("<p>This report comes from a scan: run <code>patmine history</code> for evolution charts.</p>");
    }
    h.push_str("<div class=\"charts\">");
    for (file, title, svg) in charts
        .iter()
        .filter(|(f, _, _)| super::is_evolution_chart(f))
    {
        let _ = write!(
            h,
            "<figure class=\"chart\" data-chart=\"{}\" title=\"{}\">{}</figure>",
            esc(file),
            esc(title),
            inline_svg(svg)
        );
    }
    h.push_str("</div>");
    if let Some(evo) = &report.evolution {
        let moved_most = |signature: &str, change: i64| {
            super::moved_most_in(&evo.moved_by, signature, change)
                .map(|m| esc(&m.line()))
                .unwrap_or_default()
        };
        for (name, before, deltas, moves) in evo.change_tables() {
            let _ = write!(
                h,
                "<h3>{}</h3><table><tr><th>signature</th><th class=\"n\">{before}</th><th class=\"n\">newest</th><th class=\"n\">change</th><th>moved most by</th></tr>",
                esc(&name)
            );
            for d in deltas {
                let by = super::moved_most_in(moves, &d.signature, d.absolute)
                    .map(|m| esc(&m.line()))
                    .unwrap_or_default();
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{:+}</td><td>{by}</td></tr>",
                    esc(&d.signature),
                    d.before,
                    d.after,
                    d.absolute
                );
            }
            h.push_str("</table>");
        }
        if !evo.fell_from_peak.is_empty() {
            h.push_str("<h3>Fell the most from its peak</h3><table><tr><th>signature</th><th class=\"n\">peak</th><th>at</th><th class=\"n\">newest</th><th>moved most by</th></tr>");
            for f in &evo.fell_from_peak {
                let _ = write!(
                    h,
                    "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>{} ({})</td><td class=\"n\">{}</td><td>{}</td></tr>",
                    esc(&f.signature),
                    f.peak,
                    esc(&f.peak_commit),
                    crate::migrations::date(f.peak_time),
                    f.now,
                    moved_most(&f.signature, -1)
                );
            }
            h.push_str("</table>");
        }
    }
    h.push_str("</section>");

    // Pattern cards with filters.
    let mut categories: Vec<&str> = report
        .categories
        .iter()
        .map(|c| c.category.as_str())
        .filter(|c| *c != "(none)")
        .collect();
    categories.sort();
    h.push_str("<section id=\"patterns\"><h2>Patterns</h2><div class=\"filters\" hidden><input id=\"search\" type=\"search\" placeholder=\"Search signatures\" aria-label=\"Search signatures\">");
    h.push_str("<select id=\"category\" aria-label=\"Category\"><option value=\"\">All categories</option>");
    for c in categories {
        let _ = write!(h, "<option value=\"{0}\">{0}</option>", esc(c));
    }
    h.push_str("</select><label>Min. frequency <input id=\"minfreq\" type=\"number\" min=\"0\" value=\"0\" style=\"width:90px\"></label><span id=\"count\"></span></div><div class=\"cards\">");
    for card in &report.patterns {
        let r = &card.row;
        let text = format!("{} {} {}", r.abstract_text, r.semantic_text, r.category).to_lowercase();
        let _ = write!(
            h,
            "<article class=\"card\" data-rank=\"{}\" data-category=\"{}\" data-frequency=\"{}\" data-text=\"{}\"><details><summary>\
             <span class=\"rank\">#{}</span><code class=\"sig\">{}</code><code class=\"sem\">{}</code><div class=\"meta\">",
            r.rank,
            esc(&r.category),
            r.occurrences,
            esc(&text),
            r.rank,
            esc(&r.abstract_text),
            esc(&r.semantic_text)
        );
        for c in r.category.split(',').filter(|c| !c.is_empty()) {
            let _ = write!(h, "<span class=\"tag\">{}</span>", esc(c));
        }
        let _ = write!(
            h,
            "{} occurrences in {} files · {} · e.g. {}",
            r.occurrences,
            r.files,
            esc(&r.kind),
            esc(&r.example)
        );
        if !card.variations.is_empty() {
            let _ = write!(h, " · {} variations", card.variations.len());
        }
        h.push_str("</div></summary><div class=\"detail\">");
        if let Some(moves) = report
            .evolution
            .as_ref()
            .and_then(|evo| evo.moved_by.get(&r.abstract_text))
        {
            h.push_str("<p>Moved most by:</p><ul>");
            for m in moves {
                let _ = write!(h, "<li>{}</li>", esc(&m.line()));
            }
            h.push_str("</ul>");
        }
        if !card.variations.is_empty() {
            h.push_str("<ul>");
            for v in &card.variations {
                let _ = write!(
                    h,
                    "<li><code>{}</code> ({})</li>",
                    esc(&v.signature),
                    v.count
                );
            }
            h.push_str("</ul>");
        }
        let file = format!("pattern-{}.svg", r.rank);
        match charts.iter().find(|(f, _, _)| *f == file) {
            Some((_, _, svg)) => {
                let _ = write!(
                    h,
                    "<div class=\"chart\" data-chart=\"{}\">{}</div>",
                    esc(&file),
                    inline_svg(svg)
                );
            }
            None => h.push_str("<p class=\"meta\">No series: this report comes from a scan.</p>"),
        }
        h.push_str("</div></details></article>");
    }
    h.push_str("</div></section>");

    // Clusters.
    h.push_str("<section id=\"clusters\"><h2>Clusters of near-identical signatures</h2><table><tr><th>canonical</th><th class=\"n\">count</th><th>variations</th><th class=\"n\">all</th></tr>");
    for c in &report.clusters {
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td class=\"n\">{}</td><td>",
            esc(&c.canonical.signature),
            c.canonical.count
        );
        for v in &c.variations {
            let _ = write!(h, "<code>{}</code> ({})<br>", esc(&v.signature), v.count);
        }
        let _ = write!(h, "</td><td class=\"n\">{}</td></tr>", c.total);
    }
    h.push_str("</table></section>");

    // Co-occurrence.
    let co = &report.cooccurrence;
    let _ = write!(
        h,
        "<section id=\"cooccurrence\"><h2>Co-occurrence</h2><p>{} files; patterns and pairs present in at least {} files, pairs where one signature holds the other left out; ranked by files together × ln(lift) (lift above 1: together more often than chance).</p>",
        co.files, co.min_support
    );
    if co.pairs.is_empty() {
        h.push_str("<p>No pair of patterns reaches that support here.</p>");
    } else {
        h.push_str("<table><tr><th>pattern</th><th>pattern</th><th class=\"n\">files together</th><th class=\"n\">lift</th><th class=\"n\">score</th><th class=\"n\">Jaccard</th></tr>");
        for p in co.pairs.iter().take(30) {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{:.2}</td><td class=\"n\">{:.1}</td><td class=\"n\">{:.2}</td></tr>",
                esc(&p.a),
                esc(&p.b),
                p.together,
                p.lift,
                p.score,
                p.jaccard
            );
        }
        h.push_str("</table>");
    }
    if !co.related.is_empty() {
        h.push_str("<h3>Most related, per top pattern</h3><table><tr><th>pattern</th><th>related (lift)</th></tr>");
        for (sig, partners) in &co.related {
            let _ = write!(h, "<tr><td><code>{}</code></td><td>", esc(sig));
            for (other, lift) in partners {
                let _ = write!(h, "<code>{}</code> ({lift:.2})<br>", esc(other));
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</table>");
    }
    h.push_str("</section>");

    // Releases.
    h.push_str("<section id=\"releases\"><h2>Releases</h2>");
    if report.releases.is_empty() {
        h.push_str("<p>No two tagged commits in the analysed history.</p>");
    } else {
        if let Some((_, _, svg)) = charts.iter().find(|(f, _, _)| f == "releases.svg") {
            let _ = write!(
                h,
                "<div class=\"charts\"><figure class=\"chart\" data-chart=\"releases.svg\">{}</figure></div>",
                inline_svg(svg)
            );
        }
        h.push_str("<table><tr><th>from</th><th>to</th><th class=\"n\">new</th><th class=\"n\">gone</th><th class=\"n\">grown</th><th class=\"n\">shrunk</th><th>largest changes</th></tr>");
        for r in &report.releases {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>",
                esc(&r.from),
                esc(&r.to),
                r.new,
                r.gone,
                r.grown,
                r.shrunk
            );
            for d in r.top.iter().take(3) {
                let _ = write!(h, "<code>{}</code> {:+}<br>", esc(&d.signature), d.absolute);
            }
            h.push_str("</td></tr>");
        }
        h.push_str("</table>");
    }
    if let Some(note) = super::releases_left_out_note(report.releases_left_out) {
        // The note's one code span (the command) as <code>.
        let note = esc(&note)
            .replacen('`', "<code>", 1)
            .replacen('`', "</code>", 1);
        let _ = write!(h, "<p>{note}</p>");
    }
    h.push_str("</section>");

    // Migrations.
    if let Some(section) = &report.migrations {
        h.push_str("<section id=\"migrations\"><h2>Migrations</h2>");
        if let Some(note) = &section.note {
            let _ = write!(h, "<p>{}</p>", esc(note));
        } else {
            if let Some((_, _, svg)) = charts.iter().find(|(f, _, _)| f == "migrations.svg") {
                let _ = write!(
                    h,
                    "<div class=\"charts\"><figure class=\"chart\">{}</figure></div>",
                    inline_svg(svg)
                );
            }
            h.push_str("<table><tr><th>migration</th><th class=\"n\">from (files)</th><th class=\"n\">to (files)</th><th class=\"n\">done</th><th>50% on</th><th>90% on</th><th>status</th><th>projected completion</th></tr>");
            for r in &section.table {
                let _ = write!(
                    h,
                    "<tr><td title=\"{}\">{}</td><td class=\"n\">{} ({})</td><td class=\"n\">{} ({})</td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&r.description),
                    esc(&r.name),
                    r.from.occurrences,
                    r.from.files,
                    r.to.occurrences,
                    r.to.files,
                    r.progress
                        .map_or("-".to_string(), |p| format!("{:.1}%", 100.0 * p)),
                    r.crossed_50.as_ref().map_or("-", |s| s.date.as_str()),
                    r.crossed_90.as_ref().map_or("-", |s| s.date.as_str()),
                    r.status.name(),
                    esc(&super::migrations::projection_text(&r.projection))
                );
            }
            h.push_str("</table>");
            for b in &section.details {
                let _ = write!(
                    h,
                    "<details class=\"mig\"><summary><code>{}</code>: who moved it, what is left</summary><div class=\"detail\"><table><tr><th>commit</th><th>date</th><th>author</th><th class=\"n\">converted</th><th class=\"n\">removed</th><th class=\"n\">written new</th><th class=\"n\">backslid</th><th class=\"n\">retired</th></tr>",
                    esc(&b.name)
                );
                for c in &b.commits {
                    let e = &c.effect;
                    let _ = write!(
                        h,
                        "<tr><td title=\"{}\"><code>{}</code></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                        esc(&c.subject),
                        esc(&c.commit[..10.min(c.commit.len())]),
                        esc(&c.date),
                        esc(&c.author),
                        e.converted,
                        e.removed,
                        e.written_new,
                        e.backslid,
                        e.retired
                    );
                }
                h.push_str("</table>");
                if b.frontier_files > 0 {
                    let _ = write!(
                        h,
                        "<p>Left in {} files, most first:</p><ul>",
                        b.frontier_files
                    );
                    for f in &b.frontier {
                        let _ = write!(
                            h,
                            "<li><code>{}</code>: {} sites, last changed {} by {}</li>",
                            esc(&f.path),
                            f.occurrences,
                            esc(&f.last_commit.date),
                            esc(&f.last_author)
                        );
                    }
                    h.push_str("</ul>");
                }
                h.push_str("</div></details>");
            }
        }
        h.push_str("<h3>Found without being named</h3>");
        if section.discovered.is_empty() {
            h.push_str("<p>No edit between signatures moved at least 5 sites mostly one way.</p>");
        } else {
            h.push_str("<p>Edits between signatures that moved mostly one way inside modified files (additions, deletions and renames left out).</p><table><tr><th>edit</th><th class=\"n\">moved</th><th class=\"n\">back</th><th class=\"n\">commits</th><th>example</th><th>largest commit</th></tr>");
            for d in &section.discovered {
                let side = |t: &str| {
                    if t.is_empty() {
                        "(nothing)".to_string()
                    } else {
                        format!("<code>{}</code>", esc(t))
                    }
                };
                let _ = write!(
                    h,
                    "<tr><td>{} → {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td><code>{}</code><br>→ <code>{}</code></td><td>",
                    side(&d.edit.from),
                    side(&d.edit.to),
                    d.moved,
                    d.moved_back,
                    d.commit_count,
                    esc(d.from.first().map_or("", String::as_str)),
                    esc(d.to.first().map_or("", String::as_str))
                );
                if let Some(c) = d.commits.first() {
                    let _ = write!(
                        h,
                        "<code>{}</code> {} {}: {} ({})",
                        esc(&c.commit[..10.min(c.commit.len())]),
                        esc(&c.date),
                        esc(&c.author),
                        esc(&c.subject),
                        c.moved
                    );
                }
                h.push_str("</td></tr>");
            }
            h.push_str("</table>");
        }
        h.push_str("</section>");
    }

    // Categories and parse quality.
    h.push_str("<section id=\"categories\"><h2>Categories</h2><table><tr><th>category</th><th class=\"n\">patterns</th><th class=\"n\">occurrences</th></tr>");
    for c in &report.categories {
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.category),
            c.patterns,
            c.occurrences
        );
    }
    h.push_str("</table></section>");
    let q = &report.quality;
    let _ = write!(
        h,
        "<section id=\"quality\"><h2>Parse quality</h2><p>{} files analysed; {} with ERROR/MISSING nodes; {} parsed with the fallback grammar.</p><ul>",
        q.files,
        q.files_with_errors.len(),
        q.fallbacks.len()
    );
    for (reason, n) in &q.skipped {
        let _ = write!(h, "<li>skipped, {}: {n}</li>", esc(reason));
    }
    for (path, errors) in q.files_with_errors.iter().take(20) {
        let _ = write!(
            h,
            "<li><code>{}</code>: {errors} error nodes</li>",
            esc(path)
        );
    }
    for (path, dialect, grammar) in q.fallbacks.iter().take(20) {
        let _ = write!(
            h,
            "<li><code>{}</code>: .{} parsed with {}</li>",
            esc(path),
            esc(dialect),
            esc(grammar)
        );
    }
    h.push_str("</ul></section></main>");
    let _ = writeln!(h, "<script>{SCRIPT}</script></body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(inline_svg("<?xml version=\"1.0\"?>\n<svg x>"), "<svg x>");
    }
}
