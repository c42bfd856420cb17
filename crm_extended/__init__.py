from . import models
from . import populate
from . import reports
from . import wizards
