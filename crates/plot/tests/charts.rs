//! Structure of every chart's SVG: it parses, says what it shows, and draws one line per
//! series. Series lines are the only `<polyline>`s of stroke width 2 (plotters draws axes
//! and ticks as width-1 polylines and grid lines as `<line>`s); the crate marks them with
//! `class="gf-series"`.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use gradflow_plot::{
    Axis, Bar, BarChart, Error, HeatMap, Histogram, HistogramChart, LineChart, Normalisation,
    Panels, Scale, Series, series_colour_hex,
};

/// Parses `svg` and checks what every chart must have: an `<svg>` root, a `<title>`
/// equal to `title`, the title drawn as text, and no text under 12 px.
fn parse<'a>(svg: &'a str, title: &str) -> roxmltree::Document<'a> {
    let doc = roxmltree::Document::parse(svg).unwrap();
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    let doc_title = root
        .children()
        .find(|n| n.has_tag_name("title"))
        .and_then(|n| n.text())
        .unwrap();
    assert_eq!(doc_title, title);
    assert!(texts(&doc).iter().any(|t| t == title), "title not drawn");
    for n in doc.descendants().filter(|n| n.has_tag_name("text")) {
        let size: f64 = n.attribute("font-size").unwrap().parse().unwrap();
        assert!(size >= 12.0 - 1e-9, "{size} px text: {:?}", n.text());
    }
    doc
}

fn texts(doc: &roxmltree::Document<'_>) -> Vec<String> {
    doc.descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect()
}

fn has_text(doc: &roxmltree::Document<'_>, text: &str) -> bool {
    texts(doc).iter().any(|t| t == text)
}

fn count_text(doc: &roxmltree::Document<'_>, text: &str) -> usize {
    texts(doc).iter().filter(|t| *t == text).count()
}

/// Text that contains `part`.
fn find_text(doc: &roxmltree::Document<'_>, part: &str) -> Option<String> {
    texts(doc).into_iter().find(|t| t.contains(part))
}

fn elements<'a>(doc: &'a roxmltree::Document<'_>, tag: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants().filter(|n| n.has_tag_name(tag)).collect()
}

/// Series polylines, checked two ways: by the crate's class and by plotters' own output
/// (stroke width 2). Both must agree.
fn series_lines<'a>(doc: &'a roxmltree::Document<'_>) -> Vec<roxmltree::Node<'a, 'a>> {
    let polylines = elements(doc, "polyline");
    let by_class: Vec<_> = polylines
        .iter()
        .copied()
        .filter(|n| n.attribute("class") == Some("gf-series"))
        .collect();
    let by_width = polylines
        .iter()
        .filter(|n| n.attribute("stroke-width") == Some("2"))
        .filter(|n| n.attribute("class") != Some("gf-errorbar"))
        .count();
    assert_eq!(by_class.len(), by_width);
    by_class
}

fn points(node: &roxmltree::Node<'_, '_>) -> usize {
    node.attribute("points").unwrap().split_whitespace().count()
}

fn decay(depth: u32, per_layer: f64) -> Vec<(f64, f64)> {
    (1..=depth)
        .map(|l| (f64::from(l), 10f64.powf(-per_layer * f64::from(depth - l))))
        .collect()
}

fn gradient_chart() -> LineChart {
    LineChart::new(
        "Gradient norm per layer",
        Axis::new("layer", "index"),
        Axis::new("‖δ_l‖", "L2 norm"),
    )
    .y_scale(Scale::Log10)
}

#[test]
fn line_chart_has_title_axes_legend_and_one_polyline_per_series() {
    let relu = decay(30, 0.01);
    let band: Vec<_> = relu.iter().map(|&(x, y)| (x, y / 2.0, y * 2.0)).collect();
    let svg = gradient_chart()
        .series(Series::new("sigmoid", decay(30, 1.2)))
        .series(Series::new("relu", relu).band(band))
        .series(
            Series::new("sigmoid (theory)", decay(30, 1.1))
                .dashed()
                .colour(0),
        )
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Gradient norm per layer");
    assert!(has_text(&doc, "layer (index)"));
    assert!(has_text(&doc, "‖δ_l‖ (L2 norm)"));
    for label in ["sigmoid", "relu", "sigmoid (theory)"] {
        assert_eq!(count_text(&doc, label), 1, "legend entry {label}");
    }
    let lines = series_lines(&doc);
    assert_eq!(lines.len(), 3);
    let colours: Vec<_> = lines
        .iter()
        .map(|n| n.attribute("stroke").unwrap())
        .collect();
    assert_eq!(
        colours,
        [
            series_colour_hex(0),
            series_colour_hex(1),
            series_colour_hex(0)
        ]
    );
    let dashed: Vec<_> = lines
        .iter()
        .map(|n| n.attribute("stroke-dasharray").is_some())
        .collect();
    assert_eq!(dashed, [false, false, true]);
    assert_eq!(lines[1].attribute("data-series"), Some("relu"));
    assert!(lines.iter().all(|n| points(n) == 30));
    let bands = elements(&doc, "polygon");
    assert_eq!(bands.len(), 1);
    assert_eq!(bands[0].attribute("class"), Some("gf-band"));
    assert_eq!(
        bands[0].attribute("fill"),
        Some(series_colour_hex(1).as_str())
    );
}

#[test]
fn one_series_has_no_legend() {
    let svg = gradient_chart()
        .series(Series::new("only series", decay(10, 0.5)))
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Gradient norm per layer");
    assert!(!has_text(&doc, "only series"));
    assert_eq!(series_lines(&doc).len(), 1);
}

#[test]
fn log_axis_over_sixty_decades_labels_powers_of_ten() {
    let svg = gradient_chart()
        .series(Series::new("a", [(1.0, 1e-60), (2.0, 1e-30), (3.0, 1e2)]))
        .series(Series::new("b", [(1.0, 1e-45), (3.0, 1e0)]))
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Gradient norm per layer");
    for label in ["1e-60", "1e-30", "1e0"] {
        assert!(has_text(&doc, label), "tick {label}: {:?}", texts(&doc));
    }
    let powers = texts(&doc)
        .into_iter()
        .filter(|t| t.starts_with("1e"))
        .count();
    assert!((4..=10).contains(&powers), "{powers} decade ticks");
}

#[test]
fn log_axis_drops_zero_negative_and_nan_points_and_says_so() {
    let data = [
        (1.0, 1e-3),
        (2.0, 0.0),
        (3.0, -1.0),
        (4.0, f64::NAN),
        (5.0, f64::INFINITY),
        (6.0, 1e-50),
        (7.0, 1e-40),
    ];
    let svg = gradient_chart()
        .series(Series::new("tanh", data))
        .series(Series::new(
            "relu",
            [(f64::NAN, 1.0), (2.0, 0.5), (3.0, 0.4)],
        ))
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Gradient norm per layer");
    let note = find_text(&doc, "Not drawn").unwrap();
    assert!(note.contains("5 of 10 points"), "{note}");
    assert!(note.contains("tanh 4") && note.contains("relu 1"), "{note}");
    let lines = series_lines(&doc);
    assert_eq!(lines.iter().map(points).collect::<Vec<_>>(), [3, 2]);
    // No coordinate is garbage.
    for n in &lines {
        for p in n.attribute("points").unwrap().split_whitespace() {
            let (x, y) = p.split_once(',').unwrap();
            let (x, y): (i64, i64) = (x.parse().unwrap(), y.parse().unwrap());
            assert!((0..=800).contains(&x) && (0..=500).contains(&y), "{p}");
        }
    }
}

#[test]
fn log_x_axis_drops_non_positive_x() {
    let svg = LineChart::new(
        "Loss against learning rate",
        Axis::new("learning rate", "1"),
        Axis::new("loss", "nats"),
    )
    .x_scale(Scale::Log10)
    .series(Series::new(
        "sgd",
        [(0.0, 2.0), (1e-4, 1.0), (1e-3, 0.5), (1e-1, 0.7)],
    ))
    .to_svg()
    .unwrap();
    let doc = parse(&svg, "Loss against learning rate");
    assert!(
        find_text(&doc, "Not drawn: 1 of 4")
            .unwrap()
            .contains("log10 x axis")
    );
    assert!(has_text(&doc, "1e-3"));
    assert_eq!(series_lines(&doc).len(), 1);
}

#[test]
fn nothing_drawable_is_an_error_not_a_panic() {
    let err = gradient_chart()
        .series(Series::new(
            "dead",
            [(1.0, 0.0), (2.0, -0.0), (3.0, f64::NAN)],
        ))
        .to_svg()
        .unwrap_err();
    assert!(
        matches!(err, Error::NoPlottableData { dropped: 3, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("none of the 3 values"));
    let err = gradient_chart().to_svg().unwrap_err();
    assert!(matches!(err, Error::Empty { .. }));
    assert_eq!(
        err.to_string(),
        "line chart: nothing to plot: 'Gradient norm per layer' has no series"
    );
    let err = gradient_chart()
        .series(Series::new("empty", []))
        .to_svg()
        .unwrap_err();
    assert!(err.to_string().contains("series 'empty' has no points"));
}

#[test]
fn markup_and_control_characters_in_labels_stay_well_formed() {
    let title = "a < b & \"c\" </svg>";
    let svg = LineChart::new(title, Axis::new("x<y", "1&2"), Axis::new("bell\u{7}", "1"))
        .series(Series::new("<script>", [(0.0, 0.0), (1.0, 1.0)]))
        .series(Series::new("line\nbreak", [(0.0, 1.0), (1.0, 0.0)]))
        .to_svg()
        .unwrap();
    let doc = parse(&svg, title);
    assert!(has_text(&doc, "x<y (1&2)"));
    assert!(has_text(&doc, "bell\u{FFFD} (1)"));
    assert!(has_text(&doc, "<script>"));
    assert!(has_text(&doc, "line break"));
    assert_eq!(
        series_lines(&doc)[0].attribute("data-series"),
        Some("<script>")
    );
}

#[test]
fn odd_values_and_sizes_never_panic() {
    let extreme = [
        (0.0, f64::MAX),
        (1.0, f64::MIN),
        (2.0, f64::MIN_POSITIVE),
        (3.0, 5e-324),
    ];
    for scale in [Scale::Linear, Scale::Log10] {
        let chart = LineChart::new("extremes", Axis::new("x", ""), Axis::new("y", ""))
            .y_scale(scale)
            .series(Series::new("s", extreme));
        parse(&chart.to_svg().unwrap(), "extremes");
    }
    let constant = LineChart::new("flat", Axis::new("x", ""), Axis::new("y", ""))
        .series(Series::new("s", [(2.0, 3.0), (2.0, 3.0)]));
    parse(&constant.clone().to_svg().unwrap(), "flat");
    let err = constant.clone().size(10, 10).to_svg().unwrap_err();
    assert!(matches!(err, Error::InvalidSize { width: 10, .. }));
    let small = constant.size(320, 240).to_svg().unwrap();
    parse(&small, "flat");
}

#[test]
fn single_point_series_gets_a_marker() {
    let svg = LineChart::new("one point", Axis::new("x", ""), Axis::new("y", ""))
        .series(Series::new("p", [(1.0, 1.0)]))
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "one point");
    assert_eq!(series_lines(&doc).len(), 1);
    assert_eq!(elements(&doc, "circle").len(), 1);
}

#[test]
fn a_long_legend_is_cut_with_a_count_but_every_series_is_drawn() {
    let mut chart = gradient_chart();
    for i in 0..40 {
        chart.push(Series::new(
            format!("layer {i}"),
            decay(5, 0.1 * f64::from(i)),
        ));
    }
    let svg = chart.to_svg().unwrap();
    let doc = parse(&svg, "Gradient norm per layer");
    assert_eq!(series_lines(&doc).len(), 40);
    let more = find_text(&doc, "more").unwrap();
    assert!(more.starts_with("… and "), "{more}");
}

#[test]
fn long_titles_wrap_instead_of_overflowing() {
    let title = "A very long title that says everything about the experiment: activation, \
                 initialisation, width, depth, data set and number of seeds";
    let svg = gradient_chart_titled(title).to_svg().unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let bold: Vec<_> = elements(&doc, "text")
        .into_iter()
        .filter(|n| n.attribute("font-weight") == Some("bold"))
        .collect();
    assert!(bold.len() >= 2);
}

fn gradient_chart_titled(title: &str) -> LineChart {
    LineChart::new(title, Axis::new("layer", "index"), Axis::new("norm", "1"))
        .series(Series::new("s", decay(5, 0.1)))
}

fn activation_panel(name: &str, slope: f64) -> LineChart {
    let xs: Vec<f64> = (-10..=10).map(|i| f64::from(i) * 0.5).collect();
    LineChart::new(name, Axis::new("h", "1"), Axis::new("value", "1"))
        .series(Series::new(
            "f",
            xs.iter().map(|&x| (x, if x > 0.0 { x } else { slope * x })),
        ))
        .series(Series::new(
            "f′",
            xs.iter().map(|&x| (x, if x > 0.0 { 1.0 } else { slope })),
        ))
        .series(Series::new("f″", xs.iter().map(|&x| (x, 0.0 * x))).dashed())
}

#[test]
fn panels_draw_every_series_once_with_one_shared_legend() {
    let svg = Panels::new("Activations")
        .panel(activation_panel("relu", 0.0))
        .panel(activation_panel("leaky relu", 0.1))
        .panel(activation_panel("linear", 1.0))
        .share_y(true)
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Activations");
    for title in ["relu", "leaky relu", "linear"] {
        assert_eq!(count_text(&doc, title), 1);
    }
    for label in ["f", "f′", "f″"] {
        assert_eq!(count_text(&doc, label), 1, "legend entry {label}");
    }
    assert_eq!(count_text(&doc, "h (1)"), 3);
    assert_eq!(count_text(&doc, "value (1)"), 3);
    let lines = series_lines(&doc);
    assert_eq!(lines.len(), 9);
    assert_eq!(
        lines
            .iter()
            .filter(|n| n.attribute("stroke-dasharray").is_some())
            .count(),
        3
    );
}

#[test]
fn shared_y_needs_one_y_scale_and_panels_need_panels() {
    let err = Panels::new("mixed")
        .panel(activation_panel("a", 0.0))
        .panel(gradient_chart().series(Series::new("s", decay(3, 1.0))))
        .share_y(true)
        .to_svg()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }), "{err}");
    assert!(matches!(
        Panels::new("none").to_svg(),
        Err(Error::Empty { .. })
    ));
    let err = Panels::new("bad panel")
        .panel(activation_panel("a", 0.0))
        .panel(gradient_chart())
        .to_svg()
        .unwrap_err();
    assert!(matches!(err, Error::Empty { .. }));
}

#[test]
fn panel_footnotes_name_their_panel() {
    let svg = Panels::new("Two panels")
        .panel(activation_panel("a", 0.0))
        .panel(gradient_chart().series(Series::new("s", [(1.0, 0.0), (2.0, 1.0), (3.0, 0.1)])))
        .columns(1)
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Two panels");
    let note = find_text(&doc, "Not drawn").unwrap();
    assert!(
        note.starts_with("Gradient norm per layer: Not drawn: 1 of 3"),
        "{note}"
    );
}

fn layer_grid(rows: usize, cols: usize) -> Vec<Vec<f64>> {
    (0..rows)
        .map(|r| {
            (0..cols)
                .map(|c| 10f64.powf(-(r as f64) + 0.1 * c as f64))
                .collect()
        })
        .collect()
}

fn heat_map(values: Vec<Vec<f64>>) -> HeatMap {
    HeatMap::new(
        "Gradient norm during training",
        Axis::new("step", "steps"),
        Axis::new("layer", "index"),
        Axis::new("‖δ_l‖", "L2 norm"),
        values,
    )
}

#[test]
fn heat_map_has_labels_a_colour_bar_and_one_cell_per_entry() {
    let svg = heat_map(layer_grid(6, 9))
        .colour_scale(Scale::Log10)
        .rows(1.0, 1.0)
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Gradient norm during training");
    assert!(has_text(&doc, "step (steps)"));
    assert!(has_text(&doc, "layer (index)"));
    assert!(has_text(&doc, "‖δ_l‖ (L2 norm)"));
    assert!(has_text(&doc, "1e-3"), "{:?}", texts(&doc));
    // plotters' rects: the background, one per cell, the colour bar's 96 slices and its
    // outline.
    assert_eq!(elements(&doc, "rect").len(), 1 + 6 * 9 + 96 + 1);
    assert!(!has_text(&doc, "no value"));
}

#[test]
fn heat_map_shows_cells_without_value_in_grey_and_says_so() {
    let mut grid = layer_grid(3, 4);
    grid[0][0] = 0.0;
    grid[1][2] = f64::NAN;
    grid[2][3] = -1.0;
    let svg = heat_map(grid).colour_scale(Scale::Log10).to_svg().unwrap();
    let doc = parse(&svg, "Gradient norm during training");
    assert!(has_text(&doc, "no value"));
    assert!(find_text(&doc, "Grey: 3 of 12 cells").is_some());
    let grey = elements(&doc, "rect")
        .iter()
        .filter(|n| n.attribute("fill") == Some("#C8C8C8"))
        .count();
    assert_eq!(grey, 3 + 1);
}

#[test]
fn heat_map_rejects_bad_shapes_clearly() {
    assert!(matches!(
        heat_map(vec![]).to_svg(),
        Err(Error::Empty { .. })
    ));
    assert!(matches!(
        heat_map(vec![vec![]]).to_svg(),
        Err(Error::Empty { .. })
    ));
    let err = heat_map(vec![vec![1.0, 2.0], vec![3.0]])
        .to_svg()
        .unwrap_err();
    assert_eq!(err.to_string(), "heat map: row 1 has 1 entries, expected 2");
    let err = heat_map(layer_grid(2, 2))
        .columns(0.0, 0.0)
        .to_svg()
        .unwrap_err();
    assert!(matches!(err, Error::InvalidData { .. }));
    let err = heat_map(vec![vec![f64::NAN; 3]; 2]).to_svg().unwrap_err();
    assert!(matches!(err, Error::NoPlottableData { dropped: 6, .. }));
}

fn gauss(edges: &[f64], centre: f64, width: f64) -> Vec<f64> {
    edges
        .windows(2)
        .map(|w| {
            (100.0 * (-((w[0] + w[1]) / 2.0 - centre).powi(2) / (2.0 * width * width)).exp())
                .round()
        })
        .collect()
}

#[test]
fn histograms_are_one_step_line_each_with_a_legend() {
    let edges: Vec<f64> = (0..=20).map(|i| -1.0 + 0.1 * f64::from(i)).collect();
    let svg = HistogramChart::new("Activations", Axis::new("tanh(h)", "1"), edges.clone())
        .histogram(Histogram::new("layer 1", gauss(&edges, 0.0, 0.2)))
        .histogram(Histogram::new("layer 2", gauss(&edges, 0.0, 0.4)).outside(10.0))
        .histogram(Histogram::new("layer 3", gauss(&edges, 0.0, 0.6)))
        .to_svg()
        .unwrap();
    let doc = parse(&svg, "Activations");
    assert!(has_text(&doc, "tanh(h) (1)"));
    assert!(has_text(&doc, "fraction of values (per bin)"));
    for label in ["layer 1", "layer 2", "layer 3"] {
        assert_eq!(count_text(&doc, label), 1);
    }
    let lines = series_lines(&doc);
    assert_eq!(lines.len(), 3);
    // Up the first edge, across each of the 20 bins, down the last edge.
    assert!(lines.iter().all(|n| points(n) == 2 * 20 + 2));
    assert!(
        find_text(&doc, "Outside the bins")
            .unwrap()
            .contains("layer 2")
    );
}

#[test]
fn log_histograms_label_decades_and_density_per_decade() {
    let exps: Vec<f64> = (-60..=2).map(f64::from).collect();
    let edges: Vec<f64> = exps.iter().map(|e| 10f64.powf(*e)).collect();
    let counts = gauss(&exps, -20.0, 5.0);
    for (normalisation, y_label) in [
        (Normalisation::Density, "density (per decade)"),
        (Normalisation::Count, "count (values per bin)"),
        (Normalisation::Fraction, "fraction of values (per bin)"),
    ] {
        let svg = HistogramChart::new("Gradients", Axis::new("|g|", "1"), edges.clone())
            .x_scale(Scale::Log10)
            .normalise(normalisation)
            .histogram(Histogram::new("layer 1", counts.clone()))
            .to_svg()
            .unwrap();
        let doc = parse(&svg, "Gradients");
        assert!(has_text(&doc, y_label));
        assert!(has_text(&doc, "1e-30"));
        assert_eq!(series_lines(&doc).len(), 1);
    }
}

#[test]
fn histogram_input_errors_are_clear() {
    let chart = |edges: Vec<f64>, counts: Vec<f64>| {
        HistogramChart::new("h", Axis::new("x", ""), edges).histogram(Histogram::new("a", counts))
    };
    assert!(matches!(
        HistogramChart::new("h", Axis::new("x", ""), vec![0.0, 1.0]).to_svg(),
        Err(Error::Empty { .. })
    ));
    let err = chart(vec![0.0], vec![]).to_svg().unwrap_err();
    assert!(err.to_string().contains("need at least two"), "{err}");
    let err = chart(vec![0.0, 2.0, 1.0], vec![1.0, 1.0])
        .to_svg()
        .unwrap_err();
    assert!(err.to_string().contains("strictly increasing"), "{err}");
    let err = chart(vec![0.0, 1.0, 2.0], vec![1.0]).to_svg().unwrap_err();
    assert!(matches!(
        err,
        Error::LengthMismatch {
            expected: 2,
            actual: 1,
            ..
        }
    ));
    let err = chart(vec![0.0, 1.0], vec![-1.0]).to_svg().unwrap_err();
    assert!(err.to_string().contains("non-negative"), "{err}");
    let err = chart(vec![0.0, 1.0], vec![1.0])
        .x_scale(Scale::Log10)
        .to_svg()
        .unwrap_err();
    assert!(err.to_string().contains("positive"), "{err}");
    // All-zero counts draw a flat line and say so.
    let svg = chart(vec![0.0, 1.0], vec![0.0]).to_svg().unwrap();
    let doc = parse(&svg, "h");
    assert!(find_text(&doc, "No values: a").is_some());
}

#[test]
fn bar_chart_has_labelled_bars_and_error_bars() {
    let svg = BarChart::new(
        "Cost per activation",
        Axis::new("activation", ""),
        Axis::new("time", "ns per element"),
    )
    .bar(Bar::new("relu", 0.9).error(0.1))
    .bar(Bar::new("gelu", 4.2).interval(3.9, 4.6))
    .bar(Bar::new("tanh", 2.75))
    .to_svg()
    .unwrap();
    let doc = parse(&svg, "Cost per activation");
    assert!(has_text(&doc, "time (ns per element)"));
    assert!(has_text(&doc, "activation"));
    for label in ["relu", "gelu", "tanh", "0.9", "4.2", "2.75"] {
        assert_eq!(count_text(&doc, label), 1, "{label}");
    }
    let bars = elements(&doc, "rect")
        .iter()
        .filter(|n| n.attribute("fill") == Some(series_colour_hex(0).as_str()))
        .count();
    assert_eq!(bars, 3);
    let error_bars = elements(&doc, "polyline")
        .iter()
        .filter(|n| n.attribute("class") == Some("gf-errorbar"))
        .count();
    assert_eq!(error_bars, 2);
}

#[test]
fn bar_chart_leaves_out_nan_bars_and_rejects_empty_input() {
    let chart = BarChart::new("bars", Axis::new("name", ""), Axis::new("value", "1"))
        .colour_each_bar(true)
        .bar(Bar::new("ok", -2.0).error(f64::NAN))
        .bar(Bar::new("missing", f64::NAN));
    let svg = chart.to_svg().unwrap();
    let doc = parse(&svg, "bars");
    assert!(has_text(&doc, "missing"));
    assert!(find_text(&doc, "No value (NaN or infinite): missing").is_some());
    assert!(find_text(&doc, "Error bar not drawn (NaN or infinite): ok").is_some());
    let empty = BarChart::new("none", Axis::new("name", ""), Axis::new("value", "1"));
    assert!(matches!(empty.to_svg(), Err(Error::Empty { .. })));
    let all_nan = BarChart::new("nan", Axis::new("name", ""), Axis::new("value", "1"))
        .bar(Bar::new("a", f64::NAN));
    assert!(matches!(
        all_nan.to_svg(),
        Err(Error::NoPlottableData { .. })
    ));
}

#[test]
fn many_bars_grow_the_chart() {
    let mut chart = BarChart::new("many", Axis::new("name", ""), Axis::new("value", "1"));
    for i in 0..40 {
        chart.push(Bar::new(format!("activation {i}"), f64::from(i)));
    }
    let svg = chart.to_svg().unwrap();
    let doc = parse(&svg, "many");
    let height: u32 = doc
        .root_element()
        .attribute("height")
        .unwrap()
        .parse()
        .unwrap();
    assert!(height >= 40 * 24, "{height}");
    assert_eq!(count_text(&doc, "activation 39"), 1);
}

/// Every chart, fed every awkward value in every position it takes a number, returns a
/// document or an error: never a panic, never malformed SVG.
#[test]
fn awkward_values_everywhere_give_svg_or_an_error() {
    let awkward = [
        0.0,
        -0.0,
        -1.0,
        1.0,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        1e-60,
    ];
    let check = |result: Result<String, Error>| {
        if let Ok(svg) = result {
            roxmltree::Document::parse(&svg).unwrap();
        }
    };
    for &a in &awkward {
        for &b in &awkward {
            for scale in [Scale::Linear, Scale::Log10] {
                let line = LineChart::new("t", Axis::new("x", ""), Axis::new("y", ""))
                    .x_scale(scale)
                    .y_scale(scale)
                    .series(
                        Series::new("s", [(a, b), (b, a), (1.0, 1.0)])
                            .band([(a, a, b), (1.0, b, 1.0)]),
                    );
                check(line.to_svg());
                check(Panels::new("p").panel(line).share_y(true).to_svg());
                check(
                    heat_map(vec![vec![a, b], vec![1.0, a]])
                        .colour_scale(scale)
                        .columns(a, b)
                        .to_svg(),
                );
                check(
                    HistogramChart::new("h", Axis::new("x", ""), vec![a, b, 2.0])
                        .x_scale(scale)
                        .normalise(Normalisation::Density)
                        .histogram(Histogram::new("a", [a, b]).outside(b))
                        .to_svg(),
                );
            }
            check(
                BarChart::new("b", Axis::new("x", ""), Axis::new("y", ""))
                    .bar(Bar::new("a", a).interval(a, b))
                    .bar(Bar::new("b", b).error(a))
                    .to_svg(),
            );
        }
    }
}
