from . import crm_sfa_done_wizard
