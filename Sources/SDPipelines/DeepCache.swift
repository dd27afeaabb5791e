// DeepCache (arXiv 2312.00858) as the `DeepCache` package's DeepCacheSDHelper applies it to a diffusers
// pipeline with set_params(cache_interval: N, cache_branch_id: 0) and the default "uniform" skip mode
// (DeepCache extension/deepcache.py). The one place every pipeline asks whether a UNet call runs whole.
//
// The helper's step index k of a call is `list(scheduler.timesteps).index(t)`: the FIRST position of the
// call's timestep in the scheduler's whole list, not a loop counter. So PNDM's repeated second timestep
// gives two calls the same k and the k after them skips one (k = 0, 1, 1, 3, 4, …), and img2img at
// strength < 1 starts at k0 > 0. The first call's k is k0; a call runs the full UNet (and refreshes the
// cache) when (k − k0) % N == 0, else the shallow branch.
import SDCore
import SDModels

public struct DeepCacheSchedule {
    public let interval: Int
    let timesteps: [Float]
    private(set) var start: Int?

    /// `timesteps`: the scheduler's full list after set_timesteps (Scheduler.timesteps), not the tail
    /// that strength keeps.
    public init(interval: Int, timesteps: [Float]) throws {
        guard interval >= 1 else { throw SDError.invalidInput("deep cache interval must be 1 or more, got \(interval)") }
        self.interval = interval
        self.timesteps = timesteps
    }

    /// The helper's step index of a call at timestep `t` (its first position in the full list).
    public func index(of t: Float) -> Int {
        guard let k = timesteps.firstIndex(of: t) else { preconditionFailure("timestep \(t) is not one of the scheduler's") }
        return k
    }

    /// Whether the UNet call at `t` runs whole; the first call fixes k0.
    public mutating func isFull(_ t: Float) -> Bool {
        let k = index(of: t)
        if start == nil { start = k }
        return (k - start!) % interval == 0
    }
}

/// One image's denoising loop with DeepCache: the schedule and the stored features, one per slot
/// (a slot is a tile where the UNet runs tiled, in the order the tiles run; 0 otherwise). Interval 1
/// calls the full UNet every time and stores nothing.
public final class DeepCacheRun {
    var schedule: DeepCacheSchedule
    var caches: [UNetDeepCache] = []
    /// Full and shallow UNet calls so far (what the run did, for tests and reports).
    public internal(set) var fullCalls = 0, shallowCalls = 0

    public init(interval: Int, scheduler: Scheduler) throws {
        schedule = try DeepCacheSchedule(interval: interval, timesteps: scheduler.timesteps)
    }

    /// Decide once per timestep (every slot of a step shares the decision), then call `predict` per slot.
    public func step(_ t: Float) -> DeepCacheStep {
        DeepCacheStep(full: schedule.interval == 1 || schedule.isFull(t), run: self)
    }

    func cache(_ slot: Int) -> UNetDeepCache {
        while caches.count <= slot { caches.append(UNetDeepCache()) }
        return caches[slot]
    }
}

/// The UNet calls of one timestep.
public struct DeepCacheStep {
    public let full: Bool
    let run: DeepCacheRun

    public func predict(_ unet: UNet2DConditionModel, _ x: Tensor, timestep t: Float, context: Tensor,
                        classLabel: Int? = nil, slot: Int = 0) -> Tensor {
        if run.schedule.interval == 1 {
            run.fullCalls += 1
            return unet(x, timestep: t, context: context, classLabel: classLabel)
        }
        let cache = run.cache(slot)
        if full {
            run.fullCalls += 1
            return unet(x, timestep: t, context: context, classLabel: classLabel, storingIn: cache)
        }
        run.shallowCalls += 1
        return unet.shallow(x, timestep: t, context: context, classLabel: classLabel, from: cache)
    }
}
