import java.sql.Array;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;

/**
 * pgjdbc's arrays, for tests/test_array_syntax.py to compare between PostgreSQL and
 * this server: setArray / createArrayOf parameters (ANY, ALL, empty, NULL and quoted
 * elements) and getArray of array literals. One output line per check: its name and
 * what pgjdbc read, or the SQLSTATE and message of the error.
 */
public class JdbcArrays {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            check(conn, "any_int", "select 2 = any(?) as a", conn.createArrayOf("int4", new Integer[] {1, 2}));
            check(conn, "any_empty", "select 2 = any(?) as a", conn.createArrayOf("int4", new Integer[] {}));
            check(conn, "all_int8", "select 3 <> all(?) as a", conn.createArrayOf("int8", new Long[] {1L, 2L}));
            check(conn, "any_text", "select 'a b' = any(?) as a",
                  conn.createArrayOf("text", new String[] {"x,y", "q\"r", null, "a b"}));
            check(conn, "text_param", "select ?::text[] as a",
                  conn.createArrayOf("text", new String[] {"x,y", "q\"r", null, "NULL", ""}));
            check(conn, "bool_param", "select ?::bool[] as a",
                  conn.createArrayOf("bool", new Boolean[] {true, false, null}));
            check(conn, "float_param", "select ?::float8[] as a",
                  conn.createArrayOf("float8", new Double[] {1.5, -2.0}));
            check(conn, "get_literal", "select '{a,\"b c\",NULL}'::text[] as a", null);
            check(conn, "get_nested", "select '{{1,2},{3,4}}'::int[] as a", null);
            check(conn, "get_text", "select array[1,2]::text as a", null);
        }
    }

    static void check(Connection conn, String name, String sql, Array param) {
        String result;
        try (PreparedStatement stmt = conn.prepareStatement(sql)) {
            if (param != null) {
                stmt.setArray(1, param);
            }
            try (ResultSet rs = stmt.executeQuery()) {
                rs.next();
                Object value = rs.getObject(1);
                if (value instanceof Array) {
                    Object items = ((Array) value).getArray();
                    result = items instanceof Object[] ? Arrays.deepToString((Object[]) items) : String.valueOf(items);
                } else {
                    result = String.valueOf(value);
                }
            }
        } catch (SQLException e) {
            result = "error " + e.getSQLState() + " " + e.getMessage().split("\n")[0];
        }
        System.out.println(name + " " + result);
    }
}
