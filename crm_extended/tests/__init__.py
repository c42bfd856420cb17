from . import test_sales_region
from . import test_region_security
from . import test_region_tour
from . import test_partner_region_xlsx
from . import test_sfa_calendar
from . import test_visit_schedule
from . import test_work_plan
