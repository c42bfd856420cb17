from . import partner_region_xlsx
from . import crm_work_plan_report
from . import crm_forecast_accuracy_report
from . import crm_forecast_xlsx
from . import crm_forecast_region_report
from . import crm_call_stats_report
from . import crm_call_list_stats_xlsx
from . import crm_bonus_payroll_xlsx
