import java.sql.*;

/** What pgjdbc reads of enum, oid, pg_typeof and reg* columns: one line per column, for the
 *  differential test tests/test_type_identity.py (args: url). */
public class JdbcTypeIdentity {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            String sql = "select m, o, pg_typeof(1)::text as t, pg_typeof(1)::oid as toid, "
                + "pg_typeof(m) as tm, 'int4'::regtype as rt, 'pg_class'::regclass as rc "
                + "from identity_t order by o";
            for (boolean prepared : new boolean[] {false, true}) {
                ResultSet rs = prepared ? conn.prepareStatement(sql).executeQuery()
                    : conn.createStatement().executeQuery(sql);
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        Object value = rs.getObject(i);
                        System.out.println("result " + prepared + " " + md.getColumnName(i) + " "
                            + md.getColumnTypeName(i) + " " + md.getColumnType(i) + " "
                            + rs.getString(i) + " "
                            + (value == null ? "null" : value.getClass().getSimpleName()));
                    }
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "select count(*) from identity_t where m = ?")) {
                ps.setObject(1, "happy", Types.OTHER);
                ResultSet rs = ps.executeQuery();
                rs.next();
                System.out.println("param " + rs.getLong(1));
            }
        }
    }
}
