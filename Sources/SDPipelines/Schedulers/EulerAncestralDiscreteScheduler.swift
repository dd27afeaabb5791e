// EulerAncestralDiscreteScheduler: diffusers schedulers/scheduling_euler_ancestral_discrete.py.
// Draws one latent-shaped normal tensor from the generator at every step (the last one too).
import SDCore
import SDModels

public final class EulerAncestralDiscreteScheduler: SigmaTableScheduler {
    let table: SigmaTable

    init(_ r: ConfigReader) throws { table = try SigmaTable(r) }

    public func step(_ m: Tensor, timestep: Float, sample x: Tensor, generator: TorchGenerator) -> Tensor {
        let i = table.index(for: timestep)
        let from = table.sigmas[i], to = table.sigmas[i + 1]
        let x0 = table.denoised(m, x, sigma: from)
        let up = (to * to * (from * from - to * to) / (from * from)).squareRoot()
        let down = (to * to - up * up).squareRoot()
        let derivative = (x - x0) / from
        let prev = x + derivative * (down - from)
        table.stepIndex = i + 1
        return prev + generator.randn(m.shape) * up
    }
}
