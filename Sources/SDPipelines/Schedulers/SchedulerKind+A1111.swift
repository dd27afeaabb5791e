// AUTOMATIC1111's sampler and schedule-type names for the scheduler kinds: what the infotext says
// and what painting clients send as sampler_name/scheduler. A1111 ≥ 1.9 splits the sampler from its
// sigma schedule (modules/sd_samplers.py get_sampler_and_scheduler: a name ending in " <schedule>"
// — "DPM++ 2M Karras" — is split into both; modules/sd_schedulers.py lists the schedules), and
// "Automatic" means the sampler's own default (options["scheduler"] in
// modules/sd_samplers_kdiffusion.py: "karras" for DPM++ 2M, none — the model's sigmas — for Euler).
// DDIM, PLMS and LCM ignore the schedule (modules/sd_samplers_timesteps.py, sd_samplers_lcm.py).

extension SchedulerKind {
    /// One A1111 sampler as GET /sdapi/v1/samplers lists it.
    public struct A1111Sampler: Equatable, Sendable {
        public let name: String
        public let aliases: [String]
        public let options: [String: String]
    }

    /// The A1111 samplers sdedit runs, in A1111's order (k-diffusion, then timestep samplers, then LCM).
    public static let a1111Samplers: [A1111Sampler] = [
        A1111Sampler(name: "DPM++ 2M", aliases: ["k_dpmpp_2m"], options: ["scheduler": "karras"]),
        A1111Sampler(name: "Euler a", aliases: ["k_euler_a", "k_euler_ancestral"], options: [:]),
        A1111Sampler(name: "Euler", aliases: ["k_euler"], options: [:]),
        A1111Sampler(name: "DDIM", aliases: ["ddim"], options: [:]),
        A1111Sampler(name: "PLMS", aliases: ["plms"], options: [:]),
        A1111Sampler(name: "LCM", aliases: ["lcm"], options: [:]),
    ]

    /// A1111's schedule types (name, label, aliases), as sd_schedulers.schedulers lists them; sdedit
    /// runs Automatic, Uniform and Karras (for DPM++ 2M), the others name schedules it does not have.
    public static let a1111ScheduleTypes: [(name: String, label: String, aliases: [String])] = [
        ("automatic", "Automatic", []), ("uniform", "Uniform", []), ("karras", "Karras", []),
        ("exponential", "Exponential", []), ("polyexponential", "Polyexponential", []),
        ("sgm_uniform", "SGM Uniform", ["SGMUniform"]), ("kl_optimal", "KL Optimal", []),
        ("align_your_steps", "Align Your Steps", []), ("simple", "Simple", []), ("normal", "Normal", []),
        ("ddim", "DDIM", []), ("beta", "Beta", []),
    ]

    /// A1111's one-string sampler name (the pre-1.9 form, which ≥ 1.9 still reads).
    public var a1111Name: String {
        switch self {
        case .pndm: return "PLMS"
        case .ddim: return "DDIM"
        case .dpm2m: return "DPM++ 2M"
        case .dpm2mKarras: return "DPM++ 2M Karras"
        case .euler: return "Euler"
        case .eulerAncestral: return "Euler a"
        case .lcm: return "LCM"
        }
    }

    /// The infotext pair A1111 ≥ 1.9 writes: "Sampler" and, when the sampler runs a schedule
    /// function, "Schedule type" (DPM++ 2M is Karras or Uniform; Euler's own sigmas write none).
    public var a1111Fields: [(key: String, value: String)] {
        switch self {
        case .dpm2m: return [("Sampler", "DPM++ 2M"), ("Schedule type", "Uniform")]
        case .dpm2mKarras: return [("Sampler", "DPM++ 2M"), ("Schedule type", "Karras")]
        default: return [("Sampler", a1111Name)]
        }
    }

    /// The kind for an A1111 sampler name (or alias) and schedule type, case-insensitively; nil for
    /// a sampler or schedule sdedit does not run. A name ending in a schedule ("DPM++ 2M Karras")
    /// carries it. `scheduleType` nil — absent, as in infotexts before 1.9 and sdedit's own, which
    /// write "DPM++ 2M" for the uniform schedule — is not "Automatic": a server that wants A1111
    /// ≥ 1.9's API default passes "Automatic" when a request names no scheduler.
    public init?(a1111Name: String, scheduleType: String? = nil) {
        var name = a1111Name.trimmingWhitespace().lowercased()
        var schedule: String? = nil
        if let t = scheduleType {
            guard let s = SchedulerKind.scheduleName(t) else { return nil }
            schedule = s
        }
        // get_sampler_and_scheduler: every schedule's label, name and aliases tried as a suffix.
        for t in SchedulerKind.a1111ScheduleTypes {
            for option in [t.label, t.name] + t.aliases where name.hasSuffix(" " + option.lowercased()) {
                schedule = t.name
                name = String(name.dropLast(option.count + 1))
                break
            }
        }
        guard let sampler = SchedulerKind.a1111Samplers.first(where: {
            $0.name.lowercased() == name || $0.aliases.contains(name)
        }) else { return nil }
        let ownSchedule = schedule == nil || schedule == "automatic" || schedule == "uniform"
        switch sampler.name {
        case "DPM++ 2M":
            switch schedule {
            case nil, "uniform"?: self = .dpm2m
            case "automatic"?, "karras"?: self = .dpm2mKarras
            default: return nil
            }
        case "Euler a": guard ownSchedule else { return nil }; self = .eulerAncestral
        case "Euler": guard ownSchedule else { return nil }; self = .euler
        case "DDIM": self = .ddim
        case "PLMS": self = .pndm
        default: self = .lcm
        }
    }

    /// sdedit's own name ("euler-a", "dpm++2m-karras") or an A1111 sampler name, case-insensitively.
    public static func parse(_ string: String) -> SchedulerKind? {
        SchedulerKind(rawValue: string.trimmingWhitespace().lowercased()) ?? SchedulerKind(a1111Name: string)
    }

    /// Every name `parse` accepts, for an error message.
    public static var acceptedNames: [String] {
        allCases.map(\.rawValue) + a1111Samplers.map(\.name) + ["DPM++ 2M Karras"]
    }

    /// The schedule type's canonical name for a label, name or alias, case-insensitively.
    static func scheduleName(_ s: String) -> String? {
        let t = s.trimmingWhitespace().lowercased()
        return a1111ScheduleTypes.first { ([$0.label, $0.name] + $0.aliases).contains { $0.lowercased() == t } }?.name
    }
}

fileprivate extension String {
    func trimmingWhitespace() -> String {
        let s = unicodeScalars.drop { $0.properties.isWhitespace }
        return String(String.UnicodeScalarView(s.reversed().drop { $0.properties.isWhitespace }.reversed()))
    }
}
