import java.math.BigDecimal;
import java.sql.Array;
import java.sql.Connection;
import java.sql.Date;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Time;
import java.sql.Timestamp;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TimeZone;
import java.util.UUID;

/**
 * pgjdbc against duckgres-trio. Usage: java -cp .:postgresql.jar JdbcSuite PORT [DB] [CHECK...]
 *
 * Prints one line per check, "OK name" or "FAIL name: reason", and exits 1 if any failed.
 * Each check uses its own database (fresh DuckDB file) so that checks do not interfere.
 */
public class JdbcSuite {
    static String port;
    static String dbPrefix;

    interface Check {
        void run() throws Exception;
    }

    static String url(String db, String extra) {
        String u = "jdbc:postgresql://127.0.0.1:" + port + "/" + dbPrefix + db
                + "?sslmode=require&user=postgres&password=postgres&connectTimeout=10&socketTimeout=60";
        return extra == null || extra.isEmpty() ? u : u + "&" + extra;
    }

    static Connection connect(String db, String extra) throws SQLException {
        return DriverManager.getConnection(url(db, extra));
    }

    static void check(boolean cond, String message) {
        if (!cond) {
            throw new AssertionError(message);
        }
    }

    static void checkEq(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual)) {
            throw new AssertionError(what + ": expected " + show(expected) + " but got " + show(actual));
        }
    }

    static String show(Object o) {
        if (o == null) {
            return "null";
        }
        if (o instanceof byte[]) {
            return "byte[]" + Arrays.toString((byte[]) o);
        }
        if (o instanceof Object[]) {
            return o.getClass().getSimpleName() + Arrays.deepToString((Object[]) o);
        }
        return o.getClass().getSimpleName() + "(" + o + ")";
    }

    static String describe(Throwable t) {
        StringBuilder sb = new StringBuilder();
        Throwable cur = t;
        boolean first = true;
        while (cur != null) {
            if (!first) {
                sb.append(" | caused by: ");
            }
            first = false;
            sb.append(cur.getClass().getName()).append(": ").append(cur.getMessage());
            if (cur instanceof SQLException) {
                sb.append(" [SQLState=").append(((SQLException) cur).getSQLState()).append("]");
            }
            if (cur.getCause() == cur) {
                break;
            }
            cur = cur.getCause();
        }
        // Where in our program it happened (first JdbcSuite frame).
        for (StackTraceElement e : t.getStackTrace()) {
            if (e.getClassName().startsWith("JdbcSuite")) {
                sb.append(" (at JdbcSuite.java:").append(e.getLineNumber()).append(")");
                break;
            }
        }
        return sb.toString().replace('\n', ' ').replace('\r', ' ');
    }

    // ------------------------------------------------------------------ checks

    static void selectFortyTwo() throws Exception {
        try (Connection c = connect("jdbc_select", null); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT 42")) {
            check(rs.next(), "no row");
            checkEq(42, rs.getInt(1), "SELECT 42");
            check(!rs.next(), "more than one row");
        }
    }

    static void preparedReuseBinary() throws Exception {
        try (Connection c = connect("jdbc_prepared", "prepareThreshold=5&binaryTransfer=true")) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, name VARCHAR)");
                st.execute("INSERT INTO t SELECT range, 'name-' || range FROM range(30)");
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT id, name FROM t WHERE id = ?")) {
                for (int i = 0; i < 20; i++) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (i >= 10) {
                            // Past prepareThreshold=5, pgjdbc binds the named statement asking for a
                            // binary int4 result column.
                            int fmt = rs.getMetaData().unwrap(org.postgresql.PGResultSetMetaData.class)
                                    .getFormat(1);
                            checkEq(1, fmt, "iteration " + i + " result format of the int4 column");
                        }
                        check(rs.next(), "iteration " + i + ": no row");
                        checkEq(i, rs.getInt(1), "iteration " + i + " id");
                        checkEq("name-" + i, rs.getString(2), "iteration " + i + " name");
                        checkEq(i, rs.getObject(1), "iteration " + i + " getObject(id)");
                        check(!rs.next(), "iteration " + i + ": more than one row");
                    }
                }
                // After the threshold pgjdbc uses a named server-side statement.
                org.postgresql.PGStatement pgs = ps.unwrap(org.postgresql.PGStatement.class);
                check(pgs.isUseServerPrepare(), "pgjdbc did not switch to a server-side prepared statement");
            }
        }
    }

    static void fetchSizePaging() throws Exception {
        try (Connection c = connect("jdbc_fetch", null)) {
            c.setAutoCommit(false);
            try (Statement st = c.createStatement()) {
                st.setFetchSize(1000);
                long sum = 0;
                long n = 0;
                try (ResultSet rs = st.executeQuery("SELECT range AS i FROM range(10000)")) {
                    while (rs.next()) {
                        long v = rs.getLong(1);
                        checkEq(n, v, "row " + n);
                        sum += v;
                        n++;
                    }
                }
                checkEq(10000L, n, "row count");
                checkEq(49995000L, sum, "sum");
            }
            c.commit();
        }
    }

    static void executeBatch() throws Exception {
        try (Connection c = connect("jdbc_batch", null)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE b (id INTEGER, name VARCHAR)");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO b (id, name) VALUES (?, ?)")) {
                for (int i = 0; i < 1000; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "row-" + i);
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                checkEq(1000, counts.length, "update count array length");
                for (int i = 0; i < counts.length; i++) {
                    checkEq(1, counts[i], "update count " + i);
                }
            }
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT COUNT(*), SUM(id), COUNT(DISTINCT name) FROM b")) {
                check(rs.next(), "no row");
                checkEq(1000L, rs.getLong(1), "COUNT(*)");
                checkEq(499500L, rs.getLong(2), "SUM(id)");
                checkEq(1000L, rs.getLong(3), "COUNT(DISTINCT name)");
            }
        }
    }

    static void typesRoundtrip(String db, String extra, boolean requireBinary) throws Exception {
        try (Connection c = connect(db, extra)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE ty ("
                        + "c_bool BOOLEAN, c_small SMALLINT, c_int INTEGER, c_big BIGINT, c_real REAL,"
                        + " c_double DOUBLE, c_num DECIMAL(20,5), c_varchar VARCHAR, c_text VARCHAR,"
                        + " c_bytes BLOB, c_date DATE, c_time TIME, c_ts TIMESTAMP, c_tstz TIMESTAMPTZ,"
                        + " c_uuid UUID, c_ints INTEGER[], c_texts VARCHAR[])");
            }
            boolean bool = true;
            short small = (short) -12345;
            int integer = 2_000_000_123;
            long big = -9_000_000_000_000_000_123L;
            float real = 1.5f;
            double dbl = 3.141592653589793;
            BigDecimal num = new BigDecimal("123456789012345.67891");
            String varchar = "héllo, wörld";
            String text = "line1\nline2 \"quoted\" 'single' \\ back";
            byte[] bytes = new byte[] {0, 1, 2, (byte) 0xfe, (byte) 0xff, 'a', '\\'};
            Date date = Date.valueOf("2024-02-29");
            Time time = Time.valueOf("13:14:15");
            Timestamp ts = Timestamp.valueOf("2024-02-29 13:14:15.123456");
            OffsetDateTime tstz = OffsetDateTime.of(2024, 2, 29, 13, 14, 15, 123456000, ZoneOffset.ofHours(2));
            UUID uuid = UUID.fromString("0e8c5b8a-4c43-4b8e-9a3f-6c1c2f5e7d21");
            Integer[] ints = new Integer[] {1, -2, 3};
            String[] texts = new String[] {"a", "b c", "d,e", "\"q\""};

            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO ty VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setBoolean(1, bool);
                ps.setShort(2, small);
                ps.setInt(3, integer);
                ps.setLong(4, big);
                ps.setFloat(5, real);
                ps.setDouble(6, dbl);
                ps.setBigDecimal(7, num);
                ps.setString(8, varchar);
                ps.setString(9, text);
                ps.setBytes(10, bytes);
                ps.setDate(11, date);
                ps.setTime(12, time);
                ps.setTimestamp(13, ts);
                ps.setObject(14, tstz);
                ps.setObject(15, uuid);
                ps.setArray(16, c.createArrayOf("integer", ints));
                ps.setArray(17, c.createArrayOf("text", texts));
                checkEq(1, ps.executeUpdate(), "insert update count");
            }

            List<String> problems = new ArrayList<>();
            // Read back twice: the second time the SELECT is also past prepareThreshold when it is 1.
            for (int round = 0; round < 2; round++) {
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT c_bool, c_small, c_int, c_big, c_real, c_double, c_num, c_varchar, c_text,"
                                + " c_bytes, c_date, c_time, c_ts, c_tstz, c_uuid, c_ints, c_texts FROM ty");
                     ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "no row");
                    String r = "round " + round + " ";
                    Map<String, Object[]> cmp = new LinkedHashMap<>();
                    cmp.put("boolean", new Object[] {bool, get(rs, 1, problems, r)});
                    cmp.put("smallint", new Object[] {(int) small, get(rs, 2, problems, r)});
                    cmp.put("integer", new Object[] {integer, get(rs, 3, problems, r)});
                    cmp.put("bigint", new Object[] {big, get(rs, 4, problems, r)});
                    cmp.put("real", new Object[] {real, get(rs, 5, problems, r)});
                    cmp.put("double", new Object[] {dbl, get(rs, 6, problems, r)});
                    Object gotNum = get(rs, 7, problems, r);
                    cmp.put("numeric", new Object[] {num, gotNum});
                    cmp.put("varchar", new Object[] {varchar, get(rs, 8, problems, r)});
                    cmp.put("text", new Object[] {text, get(rs, 9, problems, r)});
                    Object gotBytes = get(rs, 10, problems, r);
                    cmp.put("date", new Object[] {date, get(rs, 11, problems, r)});
                    cmp.put("time", new Object[] {time, get(rs, 12, problems, r)});
                    cmp.put("timestamp", new Object[] {ts, get(rs, 13, problems, r)});
                    Object gotTstz = get(rs, 14, problems, r);
                    cmp.put("uuid", new Object[] {uuid, get(rs, 15, problems, r)});
                    Object gotInts = get(rs, 16, problems, r);
                    Object gotTexts = get(rs, 17, problems, r);

                    for (Map.Entry<String, Object[]> e : cmp.entrySet()) {
                        Object exp = e.getValue()[0];
                        Object got = e.getValue()[1];
                        boolean same;
                        if (exp instanceof BigDecimal && got instanceof BigDecimal) {
                            same = ((BigDecimal) exp).compareTo((BigDecimal) got) == 0;
                        } else if (exp instanceof Date && got instanceof Date
                                || exp instanceof Time && got instanceof Time) {
                            same = exp.toString().equals(got.toString());
                        } else {
                            same = Objects.equals(exp, got);
                        }
                        if (!same && !(got instanceof GetFailed)) {
                            problems.add(r + e.getKey() + ": wrote " + show(exp) + " read " + show(got));
                        }
                    }
                    if (!(gotBytes instanceof GetFailed)
                            && !(gotBytes instanceof byte[] && Arrays.equals(bytes, (byte[]) gotBytes))) {
                        problems.add(r + "bytea: wrote " + show(bytes) + " read " + show(gotBytes));
                    }
                    // timestamptz: pgjdbc's getObject gives a java.sql.Timestamp (same instant).
                    if (!(gotTstz instanceof GetFailed)) {
                        long expMillis = tstz.toInstant().toEpochMilli();
                        if (!(gotTstz instanceof Timestamp && ((Timestamp) gotTstz).getTime() == expMillis
                                && ((Timestamp) gotTstz).getNanos() == 123456000)) {
                            problems.add(r + "timestamptz: wrote " + tstz + " (" + tstz.toInstant() + ") read "
                                    + show(gotTstz));
                        }
                        try {
                            OffsetDateTime odt = rs.getObject(14, OffsetDateTime.class);
                            if (odt == null || !odt.toInstant().equals(tstz.toInstant())) {
                                problems.add(r + "timestamptz getObject(OffsetDateTime): wrote " + tstz
                                        + " read " + odt);
                            }
                        } catch (Exception ex) {
                            problems.add(r + "timestamptz getObject(OffsetDateTime) threw " + describe(ex));
                        }
                    }
                    compareArray(r + "int[]", ints, gotInts, problems);
                    compareArray(r + "text[]", texts, gotTexts, problems);
                    // Also the column type names pgjdbc reports.
                    try {
                        String[] expectTypes = {"bool", "int2", "int4", "int8", "float4", "float8", "numeric",
                                "text", "text", "bytea", "date", "time", "timestamp", "timestamptz",
                                "uuid", "_int4", "_text"};
                        for (int i = 0; i < expectTypes.length; i++) {
                            String tn = rs.getMetaData().getColumnTypeName(i + 1);
                            if (!expectTypes[i].equals(tn)) {
                                problems.add(r + "column " + (i + 1) + " type name: expected " + expectTypes[i]
                                        + " got " + tn);
                            }
                        }
                    } catch (Exception ex) {
                        problems.add(r + "getColumnTypeName threw " + describe(ex));
                    }
                    // On the prepareThreshold=1 connection the second round runs a described named
                    // statement, so pgjdbc asks for binary results for every type it can receive in
                    // binary (all columns here but boolean and the two text columns).
                    if (requireBinary && round == 1) {
                        org.postgresql.PGResultSetMetaData md =
                                rs.getMetaData().unwrap(org.postgresql.PGResultSetMetaData.class);
                        int[] binaryCols = {2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17};
                        for (int col : binaryCols) {
                            if (md.getFormat(col) != 1) {
                                problems.add(r + "column " + col + " (" + rs.getMetaData().getColumnTypeName(col)
                                        + ") was not transferred in binary");
                            }
                        }
                    }
                }
                if (round == 0 && problems.size() > 0) {
                    break; // do not repeat the same problems
                }
            }
            if (!problems.isEmpty()) {
                throw new AssertionError(String.join("; ", problems));
            }
        }
    }

    /** Marker for a getObject that threw; the reason is in the problems list already. */
    static final class GetFailed {
    }

    static Object get(ResultSet rs, int col, List<String> problems, String prefix) {
        try {
            return rs.getObject(col);
        } catch (Exception e) {
            problems.add(prefix + "getObject(" + col + ") threw " + describe(e));
            return new GetFailed();
        }
    }

    static void compareArray(String what, Object[] expected, Object got, List<String> problems) {
        if (got instanceof GetFailed) {
            return;
        }
        if (!(got instanceof Array)) {
            problems.add(what + ": read " + show(got) + " (not a java.sql.Array)");
            return;
        }
        try {
            Object arr = ((Array) got).getArray();
            if (!(arr instanceof Object[]) || !Arrays.equals(expected, (Object[]) arr)) {
                problems.add(what + ": wrote " + show(expected) + " read " + show(arr));
            }
        } catch (Exception e) {
            problems.add(what + ": Array.getArray() threw " + describe(e));
        }
    }

    /** INTERVAL read back as pgjdbc's PGInterval (value written as an SQL literal). */
    static void intervalRead() throws Exception {
        org.postgresql.util.PGInterval expected = new org.postgresql.util.PGInterval(1, 2, 3, 4, 5, 6.5);
        for (String extra : new String[] {null, "prepareThreshold=1"}) {
            String db = extra == null ? "jdbc_interval_read" : "jdbc_interval_read_bin";
            try (Connection c = connect(db, extra)) {
                try (Statement st = c.createStatement()) {
                    st.execute("CREATE TABLE iv (v INTERVAL)");
                    st.execute("INSERT INTO iv VALUES (INTERVAL '1 year 2 months 3 days 04:05:06.5')");
                }
                for (int round = 0; round < 2; round++) {
                    try (PreparedStatement ps = c.prepareStatement("SELECT v FROM iv");
                         ResultSet rs = ps.executeQuery()) {
                        check(rs.next(), "no row");
                        checkEq("interval", rs.getMetaData().getColumnTypeName(1), "column type name");
                        checkEq(expected, rs.getObject(1), "(" + extra + ", round " + round + ") interval");
                    }
                }
            }
        }
    }

    /** INTERVAL written with setObject(PGInterval): pgjdbc resolves the type name "interval" through pg_type. */
    static void intervalSetObject() throws Exception {
        try (Connection c = connect("jdbc_interval_set", null)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE iv (v INTERVAL)");
            }
            org.postgresql.util.PGInterval written = new org.postgresql.util.PGInterval(1, 2, 3, 4, 5, 6.5);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO iv VALUES (?)")) {
                ps.setObject(1, written);
                checkEq(1, ps.executeUpdate(), "insert count");
            }
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT v FROM iv")) {
                check(rs.next(), "no row");
                checkEq(written, rs.getObject(1), "interval");
            }
        }
    }

    static void returning() throws Exception {
        try (Connection c = connect("jdbc_returning", null)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE SEQUENCE seq_r START 100");
                st.execute("CREATE TABLE r (id INTEGER DEFAULT nextval('seq_r'), name VARCHAR)");
                try (ResultSet rs = st.executeQuery("INSERT INTO r (name) VALUES ('a') RETURNING id")) {
                    check(rs.next(), "no row from INSERT ... RETURNING (Statement)");
                    checkEq(100, rs.getInt(1), "RETURNING id (Statement)");
                    check(!rs.next(), "more than one row");
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO r (name) VALUES (?) RETURNING id, name")) {
                ps.setString(1, "b");
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next(), "no row from INSERT ... RETURNING (PreparedStatement)");
                    checkEq(101, rs.getInt(1), "RETURNING id (PreparedStatement)");
                    checkEq("b", rs.getString(2), "RETURNING name (PreparedStatement)");
                }
            }
            try (Statement st = c.createStatement();
                 ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM r")) {
                check(rs.next(), "no count row");
                checkEq(2L, rs.getLong(1), "rows inserted");
            }
        }
    }

    static void errorSqlstate() throws Exception {
        try (Connection c = connect("jdbc_error", null)) {
            for (boolean prepared : new boolean[] {false, true}) {
                try {
                    if (prepared) {
                        try (PreparedStatement ps = c.prepareStatement("SELECT * FROM no_such_table WHERE x = ?")) {
                            ps.setInt(1, 1);
                            ps.executeQuery().close();
                        }
                    } else {
                        try (Statement st = c.createStatement()) {
                            st.executeQuery("SELECT * FROM no_such_table").close();
                        }
                    }
                    throw new AssertionError("query on a missing table did not fail (prepared=" + prepared + ")");
                } catch (SQLException e) {
                    checkEq("42P01", e.getSQLState(), "SQLState (prepared=" + prepared + "), message: "
                            + e.getMessage());
                }
                try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT 1")) {
                    check(rs.next(), "connection unusable after the error");
                    checkEq(1, rs.getInt(1), "SELECT 1 after the error");
                }
            }
        }
    }

    static void transactions() throws Exception {
        try (Connection c = connect("jdbc_tx", null)) {
            try (Statement st = c.createStatement()) {
                st.execute("CREATE TABLE x (id INTEGER)");
            }
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO x VALUES (?)")) {
                ps.setInt(1, 1);
                checkEq(1, ps.executeUpdate(), "insert count");
            }
            checkEq(1L, count(c, "SELECT COUNT(*) FROM x"), "row visible inside the transaction");
            c.rollback();
            checkEq(0L, count(c, "SELECT COUNT(*) FROM x"), "rows after rollback");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO x VALUES (?)")) {
                ps.setInt(1, 2);
                checkEq(1, ps.executeUpdate(), "insert count");
            }
            c.commit();
            c.setAutoCommit(true);
        }
        // A separate connection sees the committed row and not the rolled-back one.
        try (Connection c = connect("jdbc_tx", null)) {
            checkEq(1L, count(c, "SELECT COUNT(*) FROM x"), "rows after commit (new connection)");
            checkEq(2L, count(c, "SELECT MAX(id) FROM x"), "committed id");
        }
    }

    static long count(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            check(rs.next(), "no row for " + sql);
            return rs.getLong(1);
        }
    }

    // ------------------------------------------------------------------ main

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: JdbcSuite PORT [DBPREFIX] [CHECK...]");
            System.exit(2);
        }
        port = args[0];
        dbPrefix = args.length > 1 ? args[1] : "";
        List<String> only = args.length > 2 ? Arrays.asList(args).subList(2, args.length) : List.of();
        // Fixed JVM time zone so java.sql.Date/Time/Timestamp round-trips are deterministic.
        TimeZone.setDefault(TimeZone.getTimeZone("UTC"));
        Class.forName("org.postgresql.Driver");

        Map<String, Check> checks = new LinkedHashMap<>();
        checks.put("select_42", JdbcSuite::selectFortyTwo);
        checks.put("prepared_reuse_binary", JdbcSuite::preparedReuseBinary);
        checks.put("fetch_size_paging", JdbcSuite::fetchSizePaging);
        checks.put("execute_batch", JdbcSuite::executeBatch);
        checks.put("types_roundtrip", () -> typesRoundtrip("jdbc_types", null, false));
        checks.put("types_roundtrip_binary", () -> typesRoundtrip("jdbc_types_bin",
                "prepareThreshold=1&binaryTransfer=true", true));
        checks.put("interval_read", JdbcSuite::intervalRead);
        checks.put("interval_setobject", JdbcSuite::intervalSetObject);
        checks.put("returning", JdbcSuite::returning);
        checks.put("error_sqlstate", JdbcSuite::errorSqlstate);
        checks.put("transactions", JdbcSuite::transactions);

        int failed = 0;
        for (Map.Entry<String, Check> e : checks.entrySet()) {
            if (!only.isEmpty() && !only.contains(e.getKey())) {
                continue;
            }
            try {
                e.getValue().run();
                System.out.println("OK " + e.getKey());
            } catch (Throwable t) {
                failed++;
                System.out.println("FAIL " + e.getKey() + ": " + describe(t));
                System.err.println("---- " + e.getKey());
                t.printStackTrace();
            }
            System.out.flush();
        }
        System.exit(failed == 0 ? 0 : 1);
    }
}
