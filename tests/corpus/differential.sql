-- The differential corpus: each statement runs against duckgres-trio and PostgreSQL 15
-- on the same data (tests/test_differential.py); result column names, types and values
-- must agree. Statements that legitimately differ are listed, with the reason, in
-- tests/test_differential.py (DIVERGENT) and docs/compatibility.md.
-- Statements are separated by a line holding only ";". Lines starting with "-- setup"
-- begin the setup section (run on both, not compared); "-- corpus" begins the corpus.

-- setup
create table emp (id integer primary key, name text not null, dept text, salary numeric(10,2), hired date, active boolean, rating double precision, manager integer)
;
insert into emp values (1, 'Ada', 'eng', 120000.00, '2019-03-01', true, 4.5, null), (2, 'Grace', 'eng', 135000.50, '2017-07-15', true, 4.9, 1), (3, 'Alan', 'research', 99000.00, '2020-01-20', false, 3.8, 1), (4, 'Barbara', 'sales', 87000.25, '2021-11-30', true, null, 2), (5, 'Edsger', 'research', 105000.00, '2018-05-05', true, 4.1, 3), (6, 'Frances', null, 50000.00, '2022-02-02', false, 2.5, 4)
;
create table dept (code text primary key, title text, budget bigint)
;
insert into dept values ('eng', 'Engineering', 1000000), ('research', 'Research', 500000), ('sales', 'Sales', 250000), ('hr', 'People', 100000)
;
create table events (id serial primary key, kind text, payload json, at timestamp with time zone)
;
insert into events (kind, payload, at) values ('click', '{"x": 1, "tags": ["a", "b"]}', '2024-01-01 10:00:00+00'), ('view', '{"x": 2, "user": {"id": 7}}', '2024-01-02 11:30:00+00'), ('click', '{"x": 3}', '2024-01-03 12:45:00+00')
;
-- corpus
select 1
;
select 1 as one, 'two' as two, 3.5 as three
;
select count(*) from emp
;
select count(*), sum(salary), avg(rating), min(hired), max(hired) from emp
;
select dept, count(*) from emp group by dept order by dept nulls first
;
select dept, count(*) as n from emp group by dept having count(*) > 1 order by dept
;
select name, salary from emp where salary > 100000 order by salary desc
;
select name from emp where dept is null
;
select name from emp where dept in ('eng', 'sales') order by name
;
select name from emp where name like 'A%' order by name
;
select name from emp where name ilike 'a%' order by name
;
select name from emp where name not like '%a%' order by name
;
select name from emp where name ~ '^[AB]' order by name
;
select name from emp where name ~* 'ada' order by name
;
select name from emp where name !~ 'a' order by name
;
select name from emp where name similar to 'A%' order by name
;
select name from emp where name similar to '(Ada|Alan)' order by name
;
select name from emp where name like 'A\_%' escape '\' order by name
;
select name, case when salary > 100000 then 'high' when salary > 80000 then 'mid' else 'low' end from emp order by id
;
select name, coalesce(dept, 'none') from emp order by id
;
select name, nullif(dept, 'eng') from emp order by id
;
select greatest(1, 5, 3), least(1, 5, 3)
;
select upper(name), lower(name), length(name) from emp order by id
;
select substring(name from 1 for 3) from emp order by id
;
select substring(name, 2, 2) from emp order by id
;
select position('a' in name) from emp order by id
;
select trim(both 'x' from 'xxabcxx'), ltrim('  a'), rtrim('a  ')
;
select replace(name, 'a', 'A') from emp order by id
;
select concat(name, '-', dept) from emp order by id
;
select name || '/' || coalesce(dept, '?') from emp order by id
;
select left(name, 2), right(name, 2) from emp order by id
;
select lpad(name, 10, '*'), rpad(name, 10, '.') from emp order by id
;
select reverse(name) from emp order by id
;
select split_part('a,b,c', ',', 2)
;
select strpos('hello', 'l')
;
select initcap('hello world')
;
select repeat('ab', 3)
;
select md5('abc')
;
select abs(-5), round(2.567, 2), ceil(2.1), floor(2.9), trunc(2.99)
;
select mod(17, 5), 17 % 5, power(2, 10), sqrt(16)
;
select 7 / 2, 7.0 / 2, -7 / 2
;
select 2 ^ 3
;
select sign(-3), sign(0)
;
select salary * 2, salary / 3 from emp where id = 1
;
select cast('42' as integer), '3.14'::numeric, 'true'::boolean
;
select 1::text, 2.5::text
;
select '2024-02-29'::date + 1
;
select date '2024-03-01' - date '2024-02-01'
;
select extract(year from hired), extract(month from hired) from emp order by id
;
select date_part('day', hired) from emp order by id
;
select date_trunc('month', hired) from emp order by id
;
select hired + interval '1 month' from emp order by id
;
select interval '1 day 2 hours'
;
select make_date(2024, 5, 17)
;
select to_char(date '2024-05-17', 'YYYY-MM-DD')
;
select timestamp '2024-01-01 10:00:00' + interval '90 minutes'
;
select now() is not null
;
select current_date is not null
;
select age(timestamp '2024-01-01', timestamp '2023-01-01')
;
select e.name, d.title from emp e join dept d on d.code = e.dept order by e.id
;
select e.name, d.title from emp e left join dept d on d.code = e.dept order by e.id
;
select d.code, e.name from dept d left join emp e on e.dept = d.code order by d.code, e.name
;
select e.name, m.name from emp e join emp m on m.id = e.manager order by e.id
;
select name from emp where exists (select 1 from dept where code = emp.dept and budget > 300000) order by name
;
select name from emp where dept not in (select code from dept where budget < 300000) order by name
;
select name, (select title from dept where code = emp.dept) from emp order by id
;
select name from emp where salary > (select avg(salary) from emp) order by name
;
select name from emp where salary = any (select max(salary) from emp group by dept) order by name
;
with top as (select * from emp where salary > 100000) select count(*) from top
;
with recursive r(n) as (select 1 union all select n + 1 from r where n < 5) select sum(n) from r
;
with recursive chain(id, depth) as (select id, 0 from emp where manager is null union all select e.id, c.depth + 1 from emp e join chain c on e.manager = c.id) select id, depth from chain order by id
;
select dept from emp union select code from dept order by 1 nulls first
;
select dept from emp union all select code from dept order by 1 nulls first
;
select code from dept except select dept from emp order by 1
;
select code from dept intersect select dept from emp order by 1
;
select name, rank() over (order by salary desc) from emp order by id
;
select name, row_number() over (partition by dept order by salary) from emp order by id
;
select name, sum(salary) over (partition by dept) from emp order by id
;
select name, lag(name) over (order by id), lead(name) over (order by id) from emp order by id
;
select name, dense_rank() over (order by dept nulls last) from emp order by id
;
select name, first_value(name) over (partition by dept order by id) from emp order by id
;
select name, avg(rating) over (order by id rows between 1 preceding and 1 following) from emp order by id
;
select distinct dept from emp order by dept nulls first
;
select distinct on (dept) dept, name from emp order by dept nulls first, salary desc
;
select name from emp order by id limit 2 offset 1
;
select name from emp order by id fetch first 3 rows only
;
select string_agg(name, ', ' order by name) from emp
;
select dept, string_agg(name, ',' order by id) from emp group by dept order by dept nulls first
;
select array_agg(id order by id) from emp
;
select bool_and(active), bool_or(active) from emp
;
select count(distinct dept) from emp
;
select count(*) filter (where active) from emp
;
select stddev_samp(rating), var_samp(rating) from emp
;
select percentile_cont(0.5) within group (order by salary) from emp
;
select array[1, 2, 3]
;
select array[1, 2, 3] || 4
;
select array_length(array[1, 2, 3], 1)
;
select (array[10, 20, 30])[2]
;
select 2 = any(array[1, 2, 3])
;
select unnest(array[3, 1, 2])
;
select * from generate_series(1, 5)
;
select generate_series(1, 3)
;
select * from generate_series(1, 10, 3) as g(n)
;
select array_to_string(array['a', 'b'], '-')
;
select cardinality(array[1, 2])
;
select payload->>'x' from events order by id
;
select payload->'user'->>'id' from events order by id
;
select kind, count(*) from events group by kind order by kind
;
select json_array_length('[1, 2, 3]')
;
select payload #> '{tags,0}' from events order by id
;
select payload #>> '{user,id}' from events order by id
;
select '{"a": 1}'::jsonb ? 'a', '{"a": 1}'::jsonb ? 'b'
;
select id from events where payload::jsonb ? 'user' order by id
;
select '{"a": 1}'::json->'a'
;
select id from events where at > '2024-01-02' order by id
;
select true and false, true or false, not true
;
select null is null, null::int is not null
;
select 1 between 0 and 2, 5 not between 1 and 3
;
select 'abc' < 'abd', 'b' > 'a'
;
select row_number() over () from emp limit 1
;
select coalesce(null, null, 3)
;
select case 2 when 1 then 'one' when 2 then 'two' end
;
select id from emp where rating is distinct from null order by id
;
select 'it''s'
;
select E'tab\there'
;
select $$dollar quoted$$
;
select length('héllo'), upper('hello')
;
select 10::bigint * 10::bigint
;
select 9223372036854775807::bigint
;
select 1.0e10::double precision
;
select 0.1::real
;
select 'NaN'::double precision
;
select 123.456::numeric(6, 2)
;
select uuid '123e4567-e89b-12d3-a456-426614174000'
;
select '\xdeadbeef'::bytea
;
select time '12:34:56'
;
select timestamp '2024-05-17 12:00:00'
;
select version() like 'PostgreSQL 15%'
;
select current_setting('server_version_num')
;
select current_schema()
;
select current_database() is not null
;
select pg_backend_pid() > 0
;
select has_table_privilege('emp', 'select')
;
select quote_ident('Some Name'), quote_literal('it''s')
;
select format_type(23, -1), format_type(1043, 104)
;
select 'emp'::regclass::oid > 0
;
select pg_table_is_visible('emp'::regclass)
;
select relname from pg_class where relname in ('emp', 'dept') order by relname
;
select relkind from pg_class where relname = 'emp'
;
select attname, atttypid from pg_attribute where attrelid = 'emp'::regclass and attnum > 0 order by attnum
;
select nspname from pg_namespace where nspname = 'public'
;
select typname from pg_type where oid = 23
;
select conname, contype from pg_constraint where conrelid = 'emp'::regclass order by conname
;
select table_name from information_schema.tables where table_schema = 'public' order by table_name
;
select column_name, data_type from information_schema.columns where table_name = 'dept' order by ordinal_position
;
select schema_name from information_schema.schemata where schema_name = 'public'
;
select tablename from pg_tables where schemaname = 'public' order by tablename
;
select indexname from pg_indexes where tablename = 'emp'
;
select id, name from emp where id between 2 and 4 order by id
;
select id from emp where not active order by id
;
select id from emp where active is true order by id
;
select id from emp where rating is null
;
select id from emp where manager is not null and dept <> 'eng' order by id
;
select dept, max(salary) - min(salary) as spread from emp group by dept order by dept nulls first
;
select dept, avg(salary)::numeric(12,2) from emp group by dept order by dept nulls first
;
select count(*) from emp where hired >= date '2019-01-01'
;
select name from emp order by hired desc limit 1
;
select name from emp order by rating desc nulls last, id
;
select name from emp order by rating asc nulls first, id
;
select upper(left(name, 1)) || lower(substring(name from 2)) from emp order by id
;
select id, salary::integer from emp order by id
;
select id, salary::bigint / 1000 from emp order by id
;
select round(rating::numeric, 1) from emp order by id
;
select cast(rating as integer) from emp where rating is not null order by id
;
select 10 % 3, -10 % 3, 10.5::numeric % 3
;
select abs(-2.5), ceil(-2.5), floor(-2.5), round(-2.5)
;
select 1.0 / 3
;
select 2147483647::bigint + 1
;
select exp(0), ln(1), log(100)
;
select pi() > 3.14
;
select char_length('hello'), octet_length('héllo')
;
select ascii('A'), chr(66)
;
select 'abc' || 123
;
select 'a' || null
;
select concat('a', null, 'b')
;
select concat_ws('-', 'a', 'b', 'c')
;
select position('c' in 'abcabc'), strpos('abcabc', 'c')
;
select regexp_replace('foo bar', 'o+', '0')
;
select starts_with('hello', 'he')
;
select 'Hello' ilike 'hello', 'Hello' like 'hello'
;
select translate('12345', '143', 'ax')
;
select date '2024-01-31' + interval '1 month'
;
select timestamp '2024-01-01 00:00:00' - timestamp '2023-12-31 12:00:00'
;
select date_trunc('year', timestamp '2024-05-17 10:11:12')
;
select date_trunc('hour', timestamp '2024-05-17 10:11:12')
;
select extract(dow from date '2024-05-17')
;
select extract(epoch from timestamp '2024-01-01 00:00:00')
;
select interval '1 hour' * 3
;
select interval '90 minutes'
;
select hired + interval '3' month, hired - interval '1' year, interval '90' day from emp order by id
;
select interval '2' hour to minute, interval '1.5' second, interval '-2' hour
;
select count(*) from emp where hired < date '2020-01-01' + interval '1' month
;
select make_interval(days => 2)
;
select date '2024-05-17' > date '2024-05-16'
;
select coalesce(max(id), 0) from emp where id > 100
;
select count(*) from (select distinct dept from emp) d
;
select (select count(*) from dept) + (select count(*) from emp)
;
select e.dept, count(*) from emp e join dept d on d.code = e.dept group by e.dept order by e.dept
;
select d.code, count(e.id) from dept d left join emp e on e.dept = d.code group by d.code order by d.code
;
select name from emp e where salary > (select avg(salary) from emp where dept = e.dept) order by name
;
select name from emp where id in (select manager from emp) order by name
;
select name from emp where id not in (select manager from emp where manager is not null) order by name
;
select * from (values (1, 'a'), (2, 'b')) as v(n, s) order by n
;
select n from unnest(array[3, 1, 2]) as u(n) order by n
;
select x, y from generate_series(1, 2) as x, generate_series(1, 2) as y order by x, y
;
select max(name), min(name) from emp
;
select every(active) from emp
;
select string_agg(distinct dept, ',' order by dept) from emp
;
select array_agg(name order by name) filter (where active) from emp
;
select dept, rank() over (partition by dept order by salary desc) from emp order by id
;
select sum(salary) over (order by id rows unbounded preceding) from emp order by id
;
select ntile(2) over (order by id) from emp order by id
;
select percent_rank() over (order by salary) from emp order by id
;
select cume_dist() over (order by salary) from emp order by id
;
with d as (select dept, sum(salary) as total from emp group by dept) select dept from d where total > 100000 order by dept
;
with a as (select 1 as x), b as (select x + 1 as y from a) select y from b
;
select case when exists (select 1 from emp where salary > 130000) then 'rich' else 'not' end
;
select null::text is null, ''::text is null
;
select true::int, 0::boolean
;
select '1'::smallint + '2'::smallint
;
select 3.0::real * 2
;
select 1e-3::float8
;
select '12.50'::numeric(5,2) + 0.5
;
select 'abc'::varchar(2)
;
select 'abc'::char(5) = 'abc'
;
select length('abc'::char(5))
;
select md5(''), md5('The quick brown fox')
;
select encode('abc'::bytea, 'hex')
;
select json_build_object('a', 1, 'b', 'x')
;
select '[1, 2, 3]'::json->1
;
select '{"a": {"b": 5}}'::json->'a'->>'b'
;
update emp set rating = rating where id = 1
;
delete from emp where id = 999
;
insert into dept values ('ops', 'Operations', 1) returning code, title
;
update dept set budget = budget + 1 where code = 'ops' returning budget
;
delete from dept where code = 'ops' returning code
;
insert into dept values ('hr', 'People', 1) on conflict (code) do nothing
;
insert into dept values ('hr', 'HR', 2) on conflict (code) do update set title = excluded.title returning title
;
insert into events (kind) values ('serial') returning id
;
select count(*) from events where kind = 'serial'
;
create table tmp_corpus (a int, b text)
;
insert into tmp_corpus select id, name from emp where id < 3
;
select * from tmp_corpus order by a
;
alter table tmp_corpus add column c int
;
select a, b, c from tmp_corpus order by a
;
drop table tmp_corpus
;
create view emp_view as select id, name from emp where active
;
select * from emp_view order by id
;
drop view emp_view
;
truncate table events
;
select count(*) from events
;
select format('%s|%I|%L|%%|%2$s|%-5s|%5s|', 'a', 'B c', null, 'x', 'y')
;
select format('%I.%I', 'public', 'My Table'), format('%L and %L', 'it''s', 42), format('%s', name) from emp where id = 1
;
select null as nothing, 1 as one
;
with t as (select null as r) select r from t
;
select substring('fillfactor=70,x' from 'fillfactor=([0-9]*)'), substring('abc' from 'b.'), substring('abc' from 'z'), substring('abc', 'c$'), substring('abc' from 2)
;
select substring(name from '^[A-Z][a-z]') from emp order by id
