//! How a data-parallel sampler splits one epoch over ranks. The planner counts steps with it and
//! the torch sampler shards with it, so both agree with `torch.utils.data.DistributedSampler`.

use crate::error::{CoreError, Result};

/// Samples each rank draws per epoch from `samples` under torch's `DistributedSampler`
/// (torch/utils/data/distributed.py): `ceil(N / W)`, the shards padded to equal size by repeating
/// indices; with `drop_last` the tail is trimmed instead, `ceil((N - W) / W)` when W does not
/// divide N, which is `floor(N / W)` (and 0 when N < W).
pub fn shard_size(samples: u64, world_size: u64, drop_last: bool) -> Result<u64> {
    if world_size == 0 {
        return Err(CoreError::Input("world size must be at least 1".into()));
    }
    Ok(if drop_last { samples / world_size } else { samples.div_ceil(world_size) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// torch's formula, literally (with Python's ceil of a possibly negative quotient).
    fn torch_num_samples(n: i64, w: i64, drop_last: bool) -> i64 {
        if drop_last && n % w != 0 {
            ((n - w) as f64 / w as f64).ceil() as i64
        } else {
            (n as f64 / w as f64).ceil() as i64
        }
    }

    #[test]
    fn matches_torch_formula() {
        for n in 0..200u64 {
            for w in 1..20u64 {
                for drop_last in [false, true] {
                    let expected = torch_num_samples(n as i64, w as i64, drop_last) as u64;
                    assert_eq!(shard_size(n, w, drop_last).unwrap(), expected, "n={n} w={w} drop_last={drop_last}");
                }
            }
        }
        assert!(matches!(shard_size(5, 0, false), Err(CoreError::Input(_))));
    }
}
