//! 0-dimensional persistent homology of a point cloud (Vietoris-Rips).
//!
//! Every point is a component born at filtration value 0. Edges are added in
//! order of length; an edge joining two components kills one of them (union-
//! find), giving the pair `(0, 0, length)`. Components that never merge are
//! essential: `(0, 0, ∞)`, and their number is Betti_0 at the end of the
//! filtration (bounded by `max_edge_length` when given).

use tda_kafka_client::model::PersistencePair;

/// Union-find with path halving and union by size.
#[derive(Debug, Clone)]
pub struct UnionFind {
    parent: Vec<usize>,
    size: Vec<usize>,
}

impl UnionFind {
    /// `n` singletons.
    pub fn new(n: usize) -> Self {
        Self {
            parent: (0..n).collect(),
            size: vec![1; n],
        }
    }

    /// Representative of `x`'s set.
    pub fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }

    /// Merges the sets of `a` and `b`; false if they were one set already.
    pub fn union(&mut self, a: usize, b: usize) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra] < self.size[rb] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb] = ra;
        self.size[ra] += self.size[rb];
        true
    }
}

/// The 0-dimensional diagram and Betti_0 of `points`.
pub fn zero_dim_persistence(
    points: &[Vec<f64>],
    max_edge_length: Option<f64>,
) -> (Vec<PersistencePair>, i64) {
    let n = points.len();
    let mut edges = Vec::with_capacity(n * n.saturating_sub(1) / 2);
    for i in 0..n {
        for j in i + 1..n {
            let d = points[i]
                .iter()
                .zip(&points[j])
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt();
            if max_edge_length.is_none_or(|m| d <= m) {
                edges.push((d, i, j));
            }
        }
    }
    edges.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut uf = UnionFind::new(n);
    let mut diagram = Vec::with_capacity(n);
    for (d, i, j) in edges {
        if uf.union(i, j) {
            diagram.push(PersistencePair {
                dimension: 0,
                birth: 0.0,
                death: Some(d),
            });
        }
    }
    let components = n - diagram.len();
    diagram.extend((0..components).map(|_| PersistencePair {
        dimension: 0,
        birth: 0.0,
        death: None,
    }));
    (diagram, components as i64)
}

/// Parses points from JSON: `[[x, y, ...], ...]`, all of one dimension.
pub fn parse_points(json: &str) -> Result<Vec<Vec<f64>>, String> {
    let points: Vec<Vec<f64>> = serde_json::from_str(json).map_err(|e| e.to_string())?;
    if let Some(first) = points.first() {
        if first.is_empty() || points.iter().any(|p| p.len() != first.len()) {
            return Err("points must be non-empty and of one dimension".into());
        }
    }
    Ok(points)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deaths(d: &[PersistencePair]) -> Vec<Option<f64>> {
        d.iter().map(|p| p.death).collect()
    }

    #[test]
    fn two_clusters_merge_at_their_gap() {
        // Cluster A: 0, 1 (gap 1); cluster B: 10, 12 (gap 2); A to B: 9.
        let pts = vec![vec![0.0], vec![1.0], vec![10.0], vec![12.0]];
        let (d, betti0) = zero_dim_persistence(&pts, None);
        assert_eq!(deaths(&d), vec![Some(1.0), Some(2.0), Some(9.0), None]);
        assert_eq!(betti0, 1);
        assert!(d.iter().all(|p| p.dimension == 0 && p.birth == 0.0));
    }

    #[test]
    fn a_threshold_leaves_clusters_apart() {
        let pts = vec![vec![0.0, 0.0], vec![3.0, 4.0], vec![100.0, 0.0]];
        let (d, betti0) = zero_dim_persistence(&pts, Some(6.0));
        assert_eq!(deaths(&d), vec![Some(5.0), None, None]);
        assert_eq!(betti0, 2);
    }

    #[test]
    fn square_has_three_deaths_at_its_side() {
        let pts = vec![
            vec![0.0, 0.0],
            vec![1.0, 0.0],
            vec![0.0, 1.0],
            vec![1.0, 1.0],
        ];
        let (d, betti0) = zero_dim_persistence(&pts, None);
        assert_eq!(deaths(&d), vec![Some(1.0), Some(1.0), Some(1.0), None]);
        assert_eq!(betti0, 1);
        assert_eq!(zero_dim_persistence(&[], None), (vec![], 0));
    }

    #[test]
    fn union_find_merges_once() {
        let mut uf = UnionFind::new(3);
        assert!(uf.union(0, 1));
        assert!(!uf.union(1, 0));
        assert!(uf.union(2, 0));
        assert_eq!(uf.find(1), uf.find(2));
    }

    #[test]
    fn points_parse_from_json() {
        assert_eq!(parse_points("[[1,2],[3,4]]").unwrap().len(), 2);
        assert!(parse_points("[[1,2],[3]]").is_err());
        assert!(parse_points("nope").is_err());
    }
}
