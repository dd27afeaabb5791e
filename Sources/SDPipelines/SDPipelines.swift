// SDPipelines: schedulers and task recipes (see the inpaint issue).
import SDModels
