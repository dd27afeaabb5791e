// PNDMScheduler with skip_prk_steps (pure PLMS): diffusers schedulers/scheduling_pndm.py.
// N steps give N+1 timesteps (the second repeated); the linear multistep state machine is reproduced
// literally, including its second call that redoes the first interval.
import SDCore
import SDModels

public final class PNDMScheduler: Scheduler {
    let schedule: NoiseSchedule
    let finalAlphaCumprod: Float
    public private(set) var timesteps: [Float] = []
    public let order = 1
    public let initNoiseSigma: Float = 1
    var stepRatio = 0
    var ets: [Tensor] = []
    var counter = 0
    var curSample: Tensor?

    init(_ r: ConfigReader) throws {
        schedule = try NoiseSchedule(r, defaultSpacing: .leading)
        finalAlphaCumprod = try r.bool("set_alpha_to_one", default: false) ? 1 : schedule.alphasCumprod[0]
    }

    public func setTimesteps(_ n: Int) throws {
        guard n >= 1 && n <= schedule.trainSteps else { throw SDError.invalidInput("steps must be 1…\(schedule.trainSteps)") }
        stepRatio = schedule.trainSteps / n
        let t = Array(try schedule.integerTimesteps(n).reversed())   // ascending, as _timesteps
        // PLMS order: _timesteps[:-1], _timesteps[-2:-1], _timesteps[-1:], reversed.
        let plms = Array(t.dropLast()) + [t[t.count >= 2 ? t.count - 2 : 0]] + [t[t.count - 1]]
        timesteps = plms.reversed().map(Float.init)
        if n == 1 { timesteps = [Float(t[0])] }
        ets = []; counter = 0; curSample = nil
    }

    public func setBeginIndex(_ index: Int) {}

    /// The first interval takes two UNet calls (the second, counter == 1 in step_plms, redoes it
    /// with the averaged noise), so a run of N steps makes N + 1 calls (a strength tail as well:
    /// the counter restarts at its first call); the first call completes no step.
    public func progressStep(afterCall call: Int, of calls: Int) -> (done: Int, total: Int) {
        calls < 2 ? (call + 1, calls) : (call, calls - 1)
    }

    public func scaleModelInput(_ sample: Tensor, timestep: Float) -> Tensor { sample }

    public func step(_ modelOutput: Tensor, timestep: Float, sample: Tensor, generator: TorchGenerator) -> Tensor {
        var t = Int(timestep)
        var prev = t - stepRatio
        if counter != 1 {
            ets = Array(ets.suffix(3)) + [modelOutput]
        } else {
            prev = t
            t += stepRatio
        }
        var x = sample
        let e: Tensor
        if ets.count == 1 && counter == 0 {
            e = modelOutput
            curSample = sample
        } else if ets.count == 1 && counter == 1 {
            e = (modelOutput + ets[ets.count - 1]) / 2
            x = curSample ?? sample
            curSample = nil
        } else if ets.count == 2 {
            e = (3 * ets[1] - ets[0]) / 2
        } else if ets.count == 3 {
            e = (23 * ets[2] - 16 * ets[1] + 5 * ets[0]) / 12
        } else {
            e = Float(1.0 / 24.0) * (55 * ets[3] - 59 * ets[2] + 37 * ets[1] - 9 * ets[0])
        }
        counter += 1
        return previousSample(x, t, prev, e)
    }

    func previousSample(_ x: Tensor, _ t: Int, _ prev: Int, _ e: Tensor) -> Tensor {
        let at = schedule.alphasCumprod[t]
        let ap = prev >= 0 ? schedule.alphasCumprod[prev] : finalAlphaCumprod
        let bt = 1 - at, bp = 1 - ap
        var eps = e
        if schedule.prediction == .vPrediction { eps = at.squareRoot() * e + bt.squareRoot() * x }
        let sampleCoeff = (ap / at).squareRoot()
        let denom = at * bp.squareRoot() + (at * bt * ap).squareRoot()
        return sampleCoeff * x - ((ap - at) * eps) / denom
    }

    public func addNoise(_ original: Tensor, noise: Tensor, timestep: Float) -> Tensor {
        ddpmAddNoise(schedule.alphasCumprod, original, noise, Int(timestep))
    }
}

/// √ᾱ[t]·x0 + √(1−ᾱ[t])·ε (PNDM, DDIM, DDPM add_noise).
func ddpmAddNoise(_ ac: [Float], _ x0: Tensor, _ noise: Tensor, _ t: Int) -> Tensor {
    let a = ac[t]
    return a.squareRoot() * x0 + (1 - a).squareRoot() * noise
}
