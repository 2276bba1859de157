//! Writes a sample set of every chart to `target/plot-samples/`, to look at.
#![expect(
    clippy::unwrap_used,
    reason = "in tests a failed unwrap is a failed test"
)]

use std::path::PathBuf;

use gradflow_plot::{
    Axis, Bar, BarChart, HeatMap, Histogram, HistogramChart, LineChart, Normalisation, Panels,
    Scale, Series,
};

/// f, f' and f'' of an activation at x.
type Curve = Box<dyn Fn(f64) -> (f64, f64, f64)>;

fn out_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/plot-samples");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(name: &str, svg: &str) {
    std::fs::write(out_dir().join(name), svg).unwrap();
}

/// Per-layer gradient norms decaying geometrically, with a little deterministic wobble.
fn decay(depth: usize, log10_per_layer: f64, wobble: f64) -> Vec<(f64, f64)> {
    (1..=depth)
        .map(|l| {
            let l = l as f64;
            let w = wobble * (l * 1.7).sin();
            (l, 10f64.powf(-log10_per_layer * (depth as f64 - l) + w))
        })
        .collect()
}

#[test]
fn write_plot_samples() {
    let sigmoid = decay(50, 1.2, 0.3);
    let tanh = decay(50, 0.25, 0.2);
    let relu = decay(50, 0.01, 0.1);
    let band: Vec<(f64, f64, f64)> = relu.iter().map(|&(x, y)| (x, y * 0.5, y * 2.0)).collect();
    let mut with_zero = tanh.clone();
    with_zero.push((51.0, 0.0));
    with_zero.push((52.0, f64::NAN));
    let svg = LineChart::new(
        "Back-propagated gradient norm per layer at initialisation (depth 50, width 256)",
        Axis::new("layer l", "index, 1 = input side"),
        Axis::new("‖δ_l‖ = ‖∂L/∂h_l‖", "L2 norm"),
    )
    .y_scale(Scale::Log10)
    .series(Series::new("sigmoid, standard init", sigmoid.clone()))
    .series(Series::new("tanh, Xavier", with_zero))
    .series(Series::new("relu, He", relu.clone()).band(band))
    .series(
        Series::new("sigmoid theory", sigmoid.iter().map(|&(x, y)| (x, y * 1e4)))
            .dashed()
            .colour(0),
    )
    .note("σ_w² = fan_in · Var(W); bands: min..max over 4 seeds")
    .to_svg()
    .unwrap();
    write("line_log.svg", &svg);

    // Small multiples: f, f', f'' per activation.
    let xs: Vec<f64> = (0..=120).map(|i| -6.0 + 0.1 * f64::from(i)).collect();
    let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
    let curves: [(&str, Curve); 4] = [
        (
            "sigmoid",
            Box::new(move |x| {
                let s = sig(x);
                (s, s * (1.0 - s), s * (1.0 - s) * (1.0 - 2.0 * s))
            }),
        ),
        (
            "tanh",
            Box::new(|x: f64| {
                let t = x.tanh();
                (t, 1.0 - t * t, -2.0 * t * (1.0 - t * t))
            }),
        ),
        (
            "relu",
            Box::new(|x: f64| (x.max(0.0), if x > 0.0 { 1.0 } else { 0.0 }, 0.0)),
        ),
        (
            "softplus",
            Box::new(move |x: f64| ((1.0 + x.exp()).ln(), sig(x), sig(x) * (1.0 - sig(x)))),
        ),
    ];
    let mut panels =
        Panels::new("Activations and their derivatives (computed by the engine)").share_y(true);
    for (name, f) in &curves {
        panels.push(
            LineChart::new(
                *name,
                Axis::new("pre-activation h", "1"),
                Axis::new("value", "1"),
            )
            .series(Series::new("f", xs.iter().map(|&x| (x, f(x).0))))
            .series(Series::new("f′", xs.iter().map(|&x| (x, f(x).1))))
            .series(Series::new("f″", xs.iter().map(|&x| (x, f(x).2))).dashed()),
        );
    }
    write("panels.svg", &panels.to_svg().unwrap());

    // Heat map: layers x steps, log colour, a few cells without value.
    let mut grid: Vec<Vec<f64>> = (0..20)
        .map(|layer| {
            (0..60)
                .map(|step| 10f64.powf(-12.0 + 0.5 * f64::from(layer) + 0.05 * f64::from(step)))
                .collect()
        })
        .collect();
    if let Some(row) = grid.get_mut(3) {
        row[5] = 0.0;
        row[6] = f64::NAN;
    }
    let svg = HeatMap::new(
        "Gradient norm per layer during training (tanh, Xavier)",
        Axis::new("training step", "steps"),
        Axis::new("layer l", "index"),
        Axis::new("‖δ_l‖", "L2 norm"),
        grid,
    )
    .colour_scale(Scale::Log10)
    .rows(1.0, 1.0)
    .columns(0.0, 50.0)
    .to_svg()
    .unwrap();
    write("heatmap.svg", &svg);

    // Histograms of log10 |gradient| per layer, one bin per half decade.
    let exps: Vec<f64> = (0..=40).map(|i| -14.0 + 0.5 * f64::from(i)).collect();
    let edges: Vec<f64> = exps.iter().map(|e| 10f64.powf(*e)).collect();
    let mut hist = HistogramChart::new(
        "Back-propagated gradients per layer (sigmoid, standard init)",
        Axis::new("|∂L/∂h|", "1"),
        edges,
    )
    .x_scale(Scale::Log10)
    .normalise(Normalisation::Density);
    for layer in 1..=5 {
        let centre = -11.0 + 1.6 * f64::from(layer);
        let counts: Vec<f64> = exps
            .windows(2)
            .map(|w| {
                let m = (w[0] + w[1]) / 2.0;
                (1000.0 * (-(m - centre).powi(2) / 2.0).exp()).round()
            })
            .collect();
        hist.push(
            Histogram::new(format!("layer {layer}"), counts).outside(if layer == 1 {
                40.0
            } else {
                0.0
            }),
        );
    }
    write("histogram_log.svg", &hist.to_svg().unwrap());

    let value_edges: Vec<f64> = (0..=40).map(|i| -1.0 + 0.05 * f64::from(i)).collect();
    let mut hist = HistogramChart::new(
        "Activation values per layer (tanh)",
        Axis::new("activation tanh(h)", "1"),
        value_edges.clone(),
    );
    for layer in 1..=4 {
        let width = 0.15 * f64::from(layer);
        let counts: Vec<f64> = value_edges
            .windows(2)
            .map(|w| {
                (500.0 * (-((w[0] + w[1]) / 2.0).powi(2) / (2.0 * width * width)).exp()).round()
            })
            .collect();
        hist.push(Histogram::new(format!("layer {layer}"), counts));
    }
    write("histogram_values.svg", &hist.to_svg().unwrap());

    let names = [
        "identity",
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu:0.1",
        "elu:1",
        "selu",
        "gelu",
        "gelu_tanh",
        "silu",
        "mish",
        "softplus",
        "hardswish",
    ];
    let mut bars = BarChart::new(
        "Forward + backward cost per activation (f32, 1M elements)",
        Axis::new("activation", ""),
        Axis::new("time", "ns per element"),
    );
    for (i, name) in names.iter().enumerate() {
        let v = 0.4 + 0.37 * i as f64;
        bars.push(Bar::new(*name, v).error(0.05 * v));
    }
    write("bars.svg", &bars.to_svg().unwrap());

    // Edge cases worth a look: tiny size, dropped points, many series, long labels.
    let small = LineChart::new(
        "Loss (small chart)",
        Axis::new("epoch", "passes over the data"),
        Axis::new("cross-entropy", "nats"),
    )
    .series(Series::new(
        "train",
        (0..20).map(|e| (f64::from(e), 2.0 * (-0.2 * f64::from(e)).exp())),
    ))
    .series(Series::new(
        "test",
        (0..20).map(|e| (f64::from(e), 2.1 * (-0.15 * f64::from(e)).exp())),
    ))
    .size(320, 240);
    write("edge_small.svg", &small.to_svg().unwrap());

    let mut many = LineChart::new(
        "Update/weight ratio per layer over training, a title long enough to wrap onto a second line",
        Axis::new("training step", "steps"),
        Axis::new("‖ΔW‖ / ‖W‖", "ratio"),
    )
    .y_scale(Scale::Log10);
    for layer in 0..30 {
        let points: Vec<(f64, f64)> = (0..100)
            .map(|t| {
                let v = 1e-3
                    * 10f64.powf(-0.05 * f64::from(layer))
                    * (1.0 + 0.3 * (f64::from(t) * 0.2).sin());
                // Underflow to zero in the deepest layers, late in training.
                (
                    f64::from(t) * 10.0,
                    if layer > 26 && t > 90 { 0.0 } else { v },
                )
            })
            .collect();
        many.push(Series::new(
            format!("layer {layer} (a rather long label)"),
            points,
        ));
    }
    write("edge_many_series.svg", &many.to_svg().unwrap());

    let narrow = LineChart::new(
        "Narrow log range and fractional x",
        Axis::new("learning rate", "1"),
        Axis::new("final loss", "nats"),
    )
    .x_scale(Scale::Log10)
    .y_scale(Scale::Log10)
    .series(Series::new(
        "sgd",
        [
            (1e-4, 0.31),
            (3e-4, 0.25),
            (1e-3, 0.21),
            (3e-3, 0.24),
            (1e-2, 0.45),
        ],
    ))
    .series(Series::new(
        "adam",
        [
            (1e-4, 0.22),
            (3e-4, 0.2),
            (1e-3, 0.23),
            (3e-3, 0.5),
            (0.0, 0.1),
        ],
    ));
    write("edge_narrow_log.svg", &narrow.to_svg().unwrap());
}
