-- Every sales line is loaded once.
select event_id, count(*) as copies
from fact_sales
group by event_id
having count(*) > 1
