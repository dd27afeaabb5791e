// sampler_name and scheduler of a request, read with SDPipelines' A1111 tables
// (Schedulers/SchedulerKind+A1111.swift). An unknown name is a 422: A1111 falls back to its
// default sampler silently, which would answer with another image than asked for.
import SDPipelines

public enum Samplers {
    /// The schedule types sdedit runs, for GET schedulers (the others would only answer 422).
    static let schedules = ["automatic", "uniform", "karras"]

    /// The A1111 sampler name of a scheduler (info's sampler_name; the schedule is in the infotext).
    public static func name(_ kind: SchedulerKind) -> String {
        kind.a1111Fields.first { $0.key == "Sampler" }?.value ?? kind.a1111Name
    }

    /// The scheduler for a request's sampler_name and scheduler; nil sampler = the checkpoint's own.
    /// No scheduler is A1111 ≥ 1.9's API default, Automatic (DPM++ 2M → Karras); sdedit's own names
    /// ("euler-a", "dpm++2m-karras") are accepted too.
    static func resolve(sampler: String?, scheduler: String?) throws -> SchedulerKind? {
        let schedule = scheduler.flatMap { $0.isEmpty ? nil : $0 }
        guard let s = sampler, !s.isEmpty else {
            guard schedule == nil || schedule?.lowercased() == "automatic" else {
                throw APIError.unprocessable("scheduler: '\(schedule!)' needs a sampler_name")
            }
            return nil
        }
        if schedule == nil, let own = SchedulerKind(rawValue: s.lowercased()) { return own }
        guard let kind = SchedulerKind(a1111Name: s, scheduleType: schedule ?? "Automatic") else {
            throw APIError.unprocessable("sampler_name/scheduler: sdedit does not run '\(s)' with schedule '\(schedule ?? "Automatic")' "
                                         + "(samplers: \(SchedulerKind.a1111Samplers.map(\.name).joined(separator: ", ")); "
                                         + "schedules: Automatic, Uniform, Karras for DPM++ 2M)")
        }
        return kind
    }
}
