// SDModels: networks built from config.json with checkpoint key names (see the inpaint issue).
import SDCore
