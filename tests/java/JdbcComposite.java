import java.sql.*;

/** What pgjdbc reads of composite and anonymous record columns: one line per column, for
 *  the differential test tests/test_composite_types.py (args: url). */
public class JdbcComposite {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0])) {
            String sql = "select v, vs, row(id, 'a b') as r from comp_t order by id";
            // prepareThreshold=1 in the URL's absence: the second run is server-prepared
            for (int run = 0; run < 3; run++) {
                ResultSet rs = run == 0 ? conn.createStatement().executeQuery(sql)
                    : conn.prepareStatement(sql).executeQuery();
                ResultSetMetaData md = rs.getMetaData();
                while (rs.next()) {
                    for (int i = 1; i <= md.getColumnCount(); i++) {
                        Object value = rs.getObject(i);
                        System.out.println("result " + run + " " + md.getColumnName(i) + " "
                            + md.getColumnTypeName(i) + " " + md.getColumnType(i) + " "
                            + rs.getString(i) + " "
                            + (value == null ? "null" : value.getClass().getSimpleName()));
                    }
                }
            }
            try (PreparedStatement ps = conn.prepareStatement(
                    "select (?::comp).b as b, ?::comp as c")) {
                ps.setString(1, "(7,\"x y\")");
                ps.setObject(2, "(8,\"z\")", Types.OTHER);
                ResultSet rs = ps.executeQuery();
                rs.next();
                System.out.println("param " + rs.getString(1) + " " + rs.getString(2));
            }
        }
    }
}
