//! Graph export through petgraph: Graphviz DOT and a topological listing.

use std::fmt::Write;

use petgraph::graph::{DiGraph, NodeIndex};

use crate::tape::NodeKind;
use crate::{DType, Shape, Tape};

/// What a node of the exported graph carries.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeInfo {
    /// The node id on the tape.
    pub id: usize,
    /// Leaf var, constant or op.
    pub kind: NodeKind,
    /// The op's description (`"matmul"`, `"leaky_relu(slope=0.1)"`), or `var`/`constant`.
    pub label: String,
    /// Shape of the node's value.
    pub shape: Shape,
    /// Dtype of the node's value.
    pub dtype: DType,
    /// Ids of the inputs, in argument order.
    pub inputs: Vec<usize>,
    /// Where in user code the node was created.
    pub location: String,
    /// The scope (module path) it was recorded in.
    pub scope: Option<String>,
}

impl Tape {
    /// The recorded graph as a petgraph `DiGraph`: one node per tape node (same index),
    /// an edge from each input to its consumer, weighted by the argument position.
    pub fn graph(&self) -> DiGraph<NodeInfo, usize> {
        let nodes = self.inner.nodes.borrow();
        let mut g = DiGraph::with_capacity(nodes.len(), nodes.len() * 2);
        for (id, n) in nodes.iter().enumerate() {
            g.add_node(NodeInfo {
                id,
                kind: n.kind,
                label: n
                    .op
                    .as_ref()
                    .map_or_else(|| n.name().to_string(), |op| op.get().describe()),
                shape: n.shape.clone(),
                dtype: n.dtype,
                inputs: n.inputs.to_vec(),
                location: n.location.to_string(),
                scope: n.scope.as_ref().map(|s| s.to_string()),
            });
        }
        for (id, n) in nodes.iter().enumerate() {
            for (pos, &j) in n.inputs.iter().enumerate() {
                g.add_edge(NodeIndex::new(j), NodeIndex::new(id), pos);
            }
        }
        g
    }

    /// The graph in Graphviz DOT: leaves as boxes (vars filled), ops as ellipses, each
    /// labelled with its op, shape and dtype. Render with `dot -Tsvg`.
    pub fn to_dot(&self) -> String {
        let g = self.graph();
        let mut out =
            String::from("digraph tape {\n  rankdir=LR;\n  node [fontname=\"Helvetica\"];\n");
        // Nodes recorded inside a module (a scope such as `layers.3`) are drawn in a
        // box labelled with it.
        let mut scopes: Vec<Option<&str>> = Vec::new();
        for n in g.node_weights() {
            let s = n.scope.as_deref();
            if !scopes.contains(&s) {
                scopes.push(s);
            }
        }
        for (k, scope) in scopes.iter().enumerate() {
            if let Some(name) = scope {
                let _ = writeln!(
                    out,
                    "  subgraph cluster_{k} {{\n    label=\"{}\";\n    color=\"#bbbbbb\";",
                    escape(name)
                );
            }
            for n in g.node_weights().filter(|n| n.scope.as_deref() == *scope) {
                let style = match n.kind {
                    NodeKind::Var => "shape=box, style=filled, fillcolor=\"#cfe2ff\"",
                    NodeKind::Constant => "shape=box, color=\"#888888\"",
                    NodeKind::Op => "shape=ellipse",
                };
                let _ = writeln!(
                    out,
                    "  n{} [label=\"#{} {}\\n{} {}\", {}];",
                    n.id,
                    n.id,
                    escape(&n.label),
                    n.shape,
                    n.dtype,
                    style
                );
            }
            if scope.is_some() {
                out.push_str("  }\n");
            }
        }
        for e in g.edge_indices() {
            if let Some((a, b)) = g.edge_endpoints(e) {
                let _ = writeln!(
                    out,
                    "  n{} -> n{} [label=\"{}\"];",
                    a.index(),
                    b.index(),
                    g[e]
                );
            }
        }
        out.push_str("}\n");
        out
    }

    /// The nodes in a topological order, one line each: `#id op shape dtype <- inputs`.
    ///
    /// The order is the order of creation, which is topological by construction (a node
    /// can only refer to nodes that existed when it was made); it is also the order in
    /// which the forward pass ran, which makes the listing read like the program.
    pub fn topological_listing(&self) -> Vec<String> {
        let g = self.graph();
        g.node_weights()
            .map(|n| {
                let inputs: Vec<String> = n.inputs.iter().map(|i| format!("#{i}")).collect();
                if inputs.is_empty() {
                    format!("#{} {} {} {}", n.id, n.label, n.shape, n.dtype)
                } else {
                    format!(
                        "#{} {} {} {} <- {}",
                        n.id,
                        n.label,
                        n.shape,
                        n.dtype,
                        inputs.join(", ")
                    )
                }
            })
            .collect()
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}
